//! Documentation-only schemas of the protocol crate's signed messages and closed sets, for the OpenAPI
//! document (the protocol crate is pure and does not depend on utoipa). A signed message is documented down
//! to its two members, the signed body and the signature; the body is left a free-form object on purpose:
//! its fields, their canonical JSON and what the signature covers are specified in docs/protocol.md (the
//! section is named in each description), and the office checks it with the protocol crate, not with this
//! schema. The tests below keep the closed sets in step with the protocol crate.

use utoipa::ToSchema;

/// A protocol signature: Ed25519, 128 lower-case hex digits.
pub const SIGNATURE_PATTERN: &str = "^[0-9a-f]{128}$";

/// Declares a signed message `{<member>: body, signature}` as a doc-only schema named `$name`.
macro_rules! signed_doc {
    ($(#[$doc:meta])* $name:ident, $member:ident, $body_doc:literal) => {
        $(#[$doc])*
        #[derive(ToSchema)]
        #[allow(dead_code)] // documentation only: the protocol crate's type travels
        pub struct $name {
            #[doc = $body_doc]
            #[schema(value_type = Object)]
            pub $member: (),
            /// Ed25519 over `context || LF || canonical(body)`, lower-case hex (docs/protocol.md §1.2).
            #[schema(pattern = "^[0-9a-f]{128}$")]
            pub signature: String,
        }
    };
}

signed_doc!(
    /// A field hub's signed pair request (docs/protocol.md §11.3).
    SignedPairRequest,
    request,
    "The PairRequest (kind, v, card, proof, …): free-form here, specified in docs/protocol.md §11.3."
);
signed_doc!(
    /// The office's signed pair answer (docs/protocol.md §11.3).
    SignedPairAnswer,
    answer,
    "The PairAnswer (kind, v, card, device_id, request_proof, proof, status, …): free-form here, \
     specified in docs/protocol.md §11.3."
);
signed_doc!(
    /// The office's HTTPS CA and port, signed with the office key (docs/protocol.md §11.9).
    SignedOfficeTls,
    tls,
    "The OfficeTls (kind, v, office_id, ca_cert, https_port, issued_at): free-form here, specified in \
     docs/protocol.md §11.9."
);
signed_doc!(
    /// What the office holds of a field device's chain, signed by the office (docs/protocol.md §11.4).
    SignedHoldings,
    holdings,
    "The Holdings (kind, v, office_id, device_id, head, held, …): free-form here, specified in \
     docs/protocol.md §11.4."
);
signed_doc!(
    /// A field hub's signed sync hello (docs/protocol.md §11.8).
    SignedSyncHello,
    hello,
    "The SyncHello (kind, v, device_id, challenge, …): free-form here, specified in docs/protocol.md §11.8."
);
signed_doc!(
    /// The office's signed acknowledgement of a batch (docs/protocol.md §11.6).
    SignedAck,
    ack,
    "The Ack (kind, v, office_id, device_id, batch, envelopes, …): free-form here, specified in \
     docs/protocol.md §11.6."
);
signed_doc!(
    /// A field hub's signed batch manifest (docs/protocol.md §3.4).
    SignedManifest,
    manifest,
    "The BatchManifest (kind, v, device_id, batch_id, envelopes, blobs, …): free-form here, specified \
     in docs/protocol.md §3.4."
);
signed_doc!(
    /// A signed dossier envelope header (docs/protocol.md §3.2).
    SignedEnvelope,
    header,
    "The EnvelopeHeader (seq, prev, dossier hash, recipients, …): free-form here, specified in \
     docs/protocol.md §3.2."
);
signed_doc!(
    /// A procedure package signed by the office (docs/protocol.md §13.2).
    SignedPackage,
    package,
    "The ProcedurePackage (procedure definition, forms, exports, layouts): free-form here, specified \
     in docs/protocol.md §13.1."
);
signed_doc!(
    /// One status news item signed by the office (docs/protocol.md §11.7).
    SignedNews,
    news,
    "The News (kind, v, news_id, seq, device_id, receipt_code, status, note, published_at): free-form \
     here, specified in docs/protocol.md §11.7."
);

/// Where a field device stands with the office.
#[derive(ToSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: `protocol::DeviceStatus` travels
pub enum DeviceStatus {
    /// Paired, waiting for a clerk to approve it: uploads are refused.
    PendingApproval,
    /// Approved: uploads are accepted.
    Approved,
    /// Revoked by the office: every later upload is refused.
    Revoked,
}

/// A procedure and the version of its definition.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)] // as `protocol::ProcedureRef`
#[allow(dead_code)] // documentation only: `protocol::ProcedureRef` travels
pub struct ProcedureRef {
    /// Stable procedure id, e.g. `marital-status-certificate`.
    pub id: String,
    /// Definition version.
    pub version: u32,
}

/// A number the registration produced (e.g. the birth certificate's book number, the child's PIN).
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)] // documentation only: `protocol::ResultNumber` travels
pub struct ResultNumber {
    /// What it is, e.g. `birth_registration`, `pin`, `health_insurance` (1–200 characters, one line).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub kind: String,
    /// The number as written (1–200 characters, one line).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub number: String,
}

/// Where a dossier stands at the office, as its news says (`kind` names the status).
#[derive(ToSchema, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: `protocol::NewsStatus` travels
pub enum NewsStatus {
    /// Received, verified and stored.
    ReceivedVerified,
    /// The office needs more papers.
    NeedsPapers {
        /// Which papers, in plain words (1–50 entries of 1–200 characters, one line each).
        #[schema(min_items = 1, max_items = 50)]
        papers: Vec<NewsLine>,
    },
    /// Registered; the result numbers.
    Registered {
        /// 1–50 numbers.
        #[schema(min_items = 1, max_items = 50)]
        result_numbers: Vec<ResultNumber>,
    },
    /// The result is ready to be picked up.
    ReadyForPickup {
        /// Where (1–200 characters, one line).
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )]
        place: String,
        /// From which day.
        #[schema(format = Date)]
        from_date: String,
        /// Until which day (not before `from_date`), or null.
        #[schema(format = Date)]
        until_date: Option<String>,
    },
    /// Rejected.
    Rejected {
        /// Why, in plain words (1–500 characters; line breaks allowed).
        #[schema(
            min_length = 1,
            max_length = 500,
            pattern = r"^([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*$"
        )]
        reason: String,
    },
}

/// One line of a news item (a paper to bring): 1–200 characters, some visible, no control characters.
/// (utoipa takes no length on a newtype, so its schema is written out.)
#[derive(serde::Serialize)]
#[allow(dead_code)] // documentation only
pub struct NewsLine(String);

impl utoipa::PartialSchema for NewsLine {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some(super::patterns::REASON))
            .into()
    }
}

impl utoipa::ToSchema for NewsLine {}

/// The office's news for one field device after a sequence number (docs/protocol.md §11.9).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::NewsBatch` travels
pub struct NewsBatch {
    /// Always `outreach-kit/news-batch`.
    #[schema(pattern = "^outreach-kit/news-batch$")]
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The sequence number asked after.
    pub after: u64,
    /// At most 50 signed news items, by sequence number.
    #[schema(max_items = 50)]
    pub items: Vec<SignedNews>,
    /// Whether more items wait after the last one.
    pub more: bool,
}

/// The check that refused an envelope or a batch (docs/protocol.md §9).
#[derive(ToSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: `protocol::CheckKind` travels
pub enum CheckKind {
    Format,
    UnknownDevice,
    ManifestSignature,
    ManifestMismatch,
    EnvelopeSignature,
    EnvelopeFormat,
    DeviceMismatch,
    SeqMismatch,
    Chain,
    PayloadHash,
    BlobHash,
    BlobMissing,
    EnvelopeMissing,
    UnexpectedEnvelope,
    Equivocation,
    DeviceRevoked,
    Decrypt,
    DossierSignature,
    AttachmentHash,
    Replay,
    Validation,
}

/// An envelope of a batch that was set aside, with its reason.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::QuarantineEntry` travels
pub struct QuarantineEntry {
    pub seq: u64,
    /// Its header hash (as offered).
    pub hash: String,
    pub reason: CheckKind,
    /// English explanation.
    pub detail: String,
}

/// One problem found while verifying a batch.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::Problem` travels
pub struct Problem {
    /// The envelope concerned, if any.
    pub seq: Option<u64>,
    pub check: CheckKind,
    /// English explanation.
    pub detail: String,
}

/// One procedure version as data (docs/protocol.md §13.1). Its members are typed down to their first level;
/// the procedure definition, results, exports, layouts and guide are left free-form here: their schema is
/// the procedure package format of docs/protocol.md §7.1, §13.1 and §13a, checked by the protocol crate.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::ProcedurePackage` travels
pub struct ProcedurePackage {
    /// Always `outreach-kit/procedure-package`.
    #[schema(pattern = "^outreach-kit/procedure-package$")]
    pub kind: String,
    /// Package format version, 1.
    pub v: u32,
    /// Where the procedure appears in the list (smaller first); default 100.
    #[schema(required = false)]
    pub menu_order: u32,
    /// The ProcedureDef: form, papers, checks, time limits (docs/protocol.md §7.1).
    #[schema(value_type = Object)]
    pub procedure: (),
    /// Result numbers the office registers (absent when none).
    #[schema(value_type = Vec<Object>, required = false)]
    pub results: (),
    /// Export mappings, one per downstream system (absent when none; §13a).
    #[schema(value_type = Vec<Object>, required = false)]
    pub exports: (),
    /// A4 print layouts of the official forms (absent when none; §13a).
    #[schema(value_type = Vec<Object>, required = false)]
    pub layouts: (),
    /// The villagers' guide (absent when none).
    #[schema(value_type = Object, required = false)]
    pub guide: (),
}

/// One package of a PackageIndex.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::PackageSummary` travels
pub struct PackageSummary {
    /// Procedure id.
    pub id: String,
    pub version: u32,
    /// First day in force.
    #[schema(format = Date)]
    pub effective_from: String,
    /// The package hash.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
}

/// The packages an office serves (docs/protocol.md §13.3).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::PackageIndex` travels
pub struct PackageIndex {
    /// Always `outreach-kit/package-index`.
    #[schema(pattern = "^outreach-kit/package-index$")]
    pub kind: String,
    pub v: u32,
    pub packages: Vec<PackageSummary>,
}

/// A dossier's casework status at the office (`office::casework::store::STATUSES`), for the OpenAPI
/// document: the status travels as a string.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum CaseworkStatus {
    Received,
    InProgress,
    NeedsPapers,
    Registered,
    ReadyForPickup,
    HandedOver,
    Rejected,
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    fn enum_values<T: PartialSchema>() -> Vec<String> {
        let v = serde_json::to_value(T::schema()).unwrap();
        v["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn check_kinds_match_the_protocol() {
        let mut want: Vec<String> = protocol::CheckKind::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .collect();
        let mut doc = enum_values::<super::CheckKind>();
        want.sort();
        doc.sort();
        assert_eq!(doc, want);
    }

    #[test]
    fn device_status_matches_the_protocol() {
        use protocol::DeviceStatus as P;
        let want: Vec<String> = [P::PendingApproval, P::Approved, P::Revoked]
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(enum_values::<super::DeviceStatus>(), want);
    }

    #[test]
    fn signed_messages_name_the_protocol_members() {
        // The member names are the protocol crate's (a renamed member would make the document lie).
        let key = protocol::DeviceKey::from_seed([7; 32]);
        let tls = protocol::OfficeTls {
            kind: protocol::OFFICE_TLS_KIND.into(),
            v: 1,
            office_id: key.public().device_id(),
            ca_cert: "00".into(),
            https_port: Some(8443),
            issued_at: "2026-12-07T00:00:00Z".into(),
        };
        let signed = protocol::SignedOfficeTls::sign(tls, &key).unwrap();
        let v = serde_json::to_value(&signed).unwrap();
        let doc = serde_json::to_value(super::SignedOfficeTls::schema()).unwrap();
        for k in v.as_object().unwrap().keys() {
            assert!(doc["properties"].get(k).is_some(), "{k}");
        }
        let sig = v["signature"].as_str().unwrap();
        assert!(regex_lite_match(sig), "{sig}");
    }

    #[test]
    fn news_status_kinds_match_the_protocol() {
        use protocol::NewsStatus as P;
        let samples = [
            P::ReceivedVerified,
            P::NeedsPapers {
                papers: vec!["x".into()],
            },
            P::Registered {
                result_numbers: vec![],
            },
            P::ReadyForPickup {
                place: "x".into(),
                from_date: "2026-12-07".into(),
                until_date: None,
            },
            P::Rejected { reason: "x".into() },
        ];
        let doc = serde_json::to_value(super::NewsStatus::schema()).unwrap();
        let variants = doc["oneOf"].as_array().expect("oneOf");
        assert_eq!(variants.len(), samples.len());
        for (s, d) in samples.iter().zip(variants) {
            let v = serde_json::to_value(s).unwrap();
            let kind = v["kind"].as_str().unwrap();
            assert_eq!(d["properties"]["kind"]["enum"][0], kind, "{d}");
            for k in v.as_object().unwrap().keys() {
                assert!(d["properties"].get(k).is_some(), "{kind}: {k}");
            }
        }
    }

    fn regex_lite_match(s: &str) -> bool {
        s.len() == 128
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}
