-- shared/procedures: procedure packages beyond the built-in ones (issue 20). On an office hub, the packages
-- it published (`source = 'published'`, signed with its own device key, never changed once written); on a
-- field hub, the packages it pulled from its paired office (`source = 'office'`, verified against the pinned
-- office key when installed and again at every start). `signed` holds the canonical bytes of the
-- SignedPackage exactly as received or published.
CREATE TABLE procedure_packages (
    procedure_id   TEXT NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    hash           TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    effective_from TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('published', 'office')),
    signed         BLOB NOT NULL,
    signer         TEXT NOT NULL,
    added_at       TEXT NOT NULL,
    added_by       TEXT,
    PRIMARY KEY (procedure_id, version)
);

-- office: which field device holds which package (reported at every sync, and recorded when a package is
-- downloaded), for the Procedures page.
CREATE TABLE package_holders (
    device_id    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    pulled_at    TEXT,
    confirmed_at TEXT,
    PRIMARY KEY (device_id, hash)
);

-- office: the field devices known to read procedure packages in their USB ack file (a batch file of theirs
-- said `ack_packages = 1`, or they pulled packages over the network); others get a one-line ack.
CREATE TABLE package_readers (
    device_id TEXT PRIMARY KEY,
    since     TEXT NOT NULL
);
