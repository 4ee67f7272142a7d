//! The official forms as printed on A4, as data: for each form and each version of it, the form code
//! printed in the corner, the title, the addressee, the items with the form's labels in the form's order,
//! the sworn statement, the place/date line and the signature blocks. A new form version is a new table
//! here, not new code.
//!
//! Values come from the dossier through the export's value language ([`Source`] of
//! `office::exports::systems`, evaluated by its `RowMaker`): a commune by its name, a date as
//! `dd/mm/yyyy`, a choice by its Vietnamese label, a result number once registered. [`Val`] adds the few
//! ways of writing that only paper needs (a unit's name inside a sentence, a printed wording of a choice).
//!
//! Which source each layout follows (docs/domain.md §§3–4, "Printed forms"): the printed forms of TT
//! 04/2024/TT-BTP and of QĐ 490/QĐ-BHXH were not found; the layouts follow the re-drawings listed there
//! ([secondary]) and the content rules read in TT 04/2020 arts. 25, 31, 33 ([read]).

use crate::office::exports::systems::Source::{self, *};

/// How an item's value is written on paper.
#[derive(Debug, Clone, Copy)]
pub enum Val {
    /// A value of the export's language.
    S(Source),
    /// "prefix" + the unit's label written inside a sentence ("Ủy ban nhân dân xã Bù Gia Mập, tỉnh
    /// Đồng Nai"); a value that is not a known code (free text of catalogue v1) is given as typed.
    Authority(&'static str, &'static str),
    /// A choice in the form's own words (`value → words`; other values by their catalogue label), unless
    /// the field named last has a value (e.g. the relationship typed when it is "other").
    Words(
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    ),
    /// "Có" when the number field is above zero, "Không" when it is zero, empty when not given.
    YesNoCount(&'static str),
}

/// A value on an item's line: an optional sub-label before it ("số", "cấp ngày", …).
#[derive(Debug, Clone, Copy)]
pub struct Part {
    pub label: &'static str,
    pub val: Val,
    /// Left out entirely when empty (details that apply to one case only, e.g. the divorce judgment).
    pub optional: bool,
}

/// One line of the form.
#[derive(Debug, Clone, Copy)]
pub enum Line {
    /// Words printed as they are (a lead-in such as "Đề nghị cơ quan đăng ký khai sinh cho người dưới
    /// đây:", or a part heading).
    Text(&'static str),
    /// A numbered (or unnumbered) item: its label, then its parts.
    Item {
        no: &'static str,
        label: &'static str,
        parts: &'static [Part],
    },
    /// A table the form prints for the declarant to fill (empty rows).
    Table {
        no: &'static str,
        label: &'static str,
        columns: &'static [&'static str],
        rows: usize,
    },
}

/// A signature block.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// "Người yêu cầu", "Ý KIẾN CỦA CHỦ HỘ", …
    pub title: &'static str,
    /// "(Ký, ghi rõ họ, chữ đệm, tên)".
    pub note: &'static str,
    /// Lines printed in the block above the signature space ("Họ và tên", "Số định danh cá nhân").
    pub lines: &'static [Part],
    /// The name written under the signature.
    pub name: Val,
    /// The note instead of `note` when the declaration was read aloud and thumbprinted
    /// (`declaration.method = read_aloud`, TT 04/2020 art. 25.4).
    pub thumb_note: Option<&'static str>,
}

/// One version of one official form.
#[derive(Debug)]
pub struct Layout {
    /// The form: `marital`, `birth`, `ct01`, `tk1ts` (one printed page group per form).
    pub form: &'static str,
    pub procedure_id: &'static str,
    /// The catalogue versions whose dossiers this layout prints.
    pub catalogue_versions: &'static [u32],
    /// The first day this version of the form is used (`YYYY-MM-DD`); a dossier gets the latest version
    /// in force on the day it was declared.
    pub from: &'static str,
    /// Printed in the top corner ("Mẫu CT01 ban hành kèm theo …"); empty when the form has none.
    pub form_code: &'static str,
    pub title: &'static str,
    /// The addressee after "Kính gửi:"; `None` when the form has no addressee.
    pub addressee: Option<Val>,
    pub lines: &'static [Line],
    pub oath: &'static str,
    /// "Làm tại" before the place on civil-status forms; empty when the line starts with the place.
    pub place_prefix: &'static str,
    /// The commune whose name starts the date line.
    pub place: Val,
    pub signatures: &'static [Signature],
    /// Where the layout comes from (docs/domain.md sources), served with the form, not printed.
    pub source: &'static str,
}

const fn p(label: &'static str, src: Source) -> Part {
    Part {
        label,
        val: Val::S(src),
        optional: false,
    }
}

const fn opt(label: &'static str, src: Source) -> Part {
    Part {
        label,
        val: Val::S(src),
        optional: true,
    }
}

const fn item(no: &'static str, label: &'static str, parts: &'static [Part]) -> Line {
    Line::Item { no, label, parts }
}

const OATH_CIVIL: &str = "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước pháp luật về lời cam đoan của mình.";
const SIGN_NOTE: &str = "(Ký, ghi rõ họ, chữ đệm, tên)";
const THUMB_NOTE: &str =
    "(Điểm chỉ, ghi rõ họ, chữ đệm, tên; tờ khai do cán bộ ghi và đã đọc lại cho người yêu cầu nghe)";

/// The requester's identity document on one line (TT 04/2020 art. 31.5: type, number, issuer, date).
const REQUESTER_ID: &[Part] = &[
    p("", Choice("requester.id_type")),
    p(
        "số",
        FirstOf(&[Field("requester.pin"), Field("requester.passport_number")]),
    ),
    p("cấp ngày", Date("requester.id_issue_date")),
    p("nơi cấp", Field("requester.id_issuer")),
];

const REQUESTER_SIGNS: &[Signature] = &[Signature {
    title: "Người yêu cầu",
    note: SIGN_NOTE,
    lines: &[],
    name: Val::S(Field("requester.full_name")),
    thumb_note: Some(THUMB_NOTE),
}];

// ---------- Tờ khai cấp Giấy xác nhận tình trạng hôn nhân ----------

const MARITAL_RELATIONSHIP: Val = Val::Words(
    "requester.relationship",
    &[("self", "Bản thân"), ("other", "Người được ủy quyền")],
    Some("requester.relationship_other"),
);

/// The status line: the status, then the details behind it (TT 04/2020 art. 33.1; portal record
/// 1.004873): only those given are printed.
const MARITAL_STATUS_PARTS: &[Part] = &[
    p("", Choice("subject.marital_status")),
    opt("họ, chữ đệm, tên vợ/chồng", Field("spouse.full_name")),
    opt("Giấy chứng nhận kết hôn số", Field("marriage.cert_number")),
    opt("nơi cấp", Field("marriage.cert_issuer")),
    opt("ngày cấp", Date("marriage.cert_date")),
    opt(
        "Bản án/quyết định ly hôn số",
        Field("divorce.decision_number"),
    ),
    opt("ngày", Date("divorce.decision_date")),
    opt("của", Field("divorce.court")),
    opt(
        "Giấy chứng tử/trích lục khai tử của vợ/chồng số",
        Field("death.record_number"),
    ),
    opt("nơi cấp", Field("death.record_issuer")),
    opt("ngày cấp", Date("death.record_date")),
];

const MARITAL_PERIOD: Line = item(
    "",
    "Trong thời gian cư trú tại",
    &[
        p("", Field("period.place")),
        p("từ ngày", Date("period.from")),
        p("đến ngày", Date("period.to")),
    ],
);

/// Catalogue v1: the addressee is free text, the person's ID has no issuer/date, four bare statuses.
const MARITAL_V1: &[Line] = &[
    item(
        "",
        "Họ, chữ đệm, tên người yêu cầu",
        &[p("", Field("requester.full_name"))],
    ),
    item("", "Nơi cư trú", &[p("", Field("requester.residence"))]),
    item("", "Giấy tờ tùy thân", REQUESTER_ID),
    item(
        "",
        "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân",
        &[Part {
            label: "",
            val: MARITAL_RELATIONSHIP,
            optional: false,
        }],
    ),
    Line::Text("Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:"),
    item("", "Họ, chữ đệm, tên", &[p("", Field("subject.full_name"))]),
    item(
        "",
        "Ngày, tháng, năm sinh",
        &[p("", Date("subject.date_of_birth"))],
    ),
    item(
        "",
        "Giới tính",
        &[
            p("", Choice("subject.sex")),
            p("Dân tộc", Field("subject.ethnicity")),
            p("Quốc tịch", Field("subject.nationality")),
        ],
    ),
    item("", "Nơi cư trú", &[p("", Field("subject.residence"))]),
    item(
        "",
        "Giấy tờ tùy thân",
        &[
            p("", Choice("subject.id_type")),
            p(
                "số",
                FirstOf(&[Field("subject.pin"), Field("subject.passport_number")]),
            ),
        ],
    ),
    MARITAL_PERIOD,
    item(
        "",
        "Tình trạng hôn nhân",
        &[p("", Choice("subject.marital_status"))],
    ),
    item(
        "",
        "Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân",
        &[p("", Field("request.purpose"))],
    ),
];

/// Catalogue v2: the details behind the status, the person's ID with issuer/date, copies, an earlier
/// certificate.
const MARITAL_V2: &[Line] = &[
    item(
        "",
        "Họ, chữ đệm, tên người yêu cầu",
        &[p("", Field("requester.full_name"))],
    ),
    item("", "Nơi cư trú", &[p("", Field("requester.residence"))]),
    item("", "Giấy tờ tùy thân", REQUESTER_ID),
    item(
        "",
        "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân",
        &[Part {
            label: "",
            val: MARITAL_RELATIONSHIP,
            optional: false,
        }],
    ),
    Line::Text("Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:"),
    item("", "Họ, chữ đệm, tên", &[p("", Field("subject.full_name"))]),
    item(
        "",
        "Ngày, tháng, năm sinh",
        &[p("", Date("subject.date_of_birth"))],
    ),
    item(
        "",
        "Giới tính",
        &[
            p("", Choice("subject.sex")),
            p("Dân tộc", Field("subject.ethnicity")),
            p("Quốc tịch", Field("subject.nationality")),
        ],
    ),
    item("", "Nơi cư trú", &[p("", Field("subject.residence"))]),
    item(
        "",
        "Giấy tờ tùy thân",
        &[
            p("", Choice("subject.id_type")),
            p(
                "số",
                FirstOf(&[Field("subject.pin"), Field("subject.passport_number")]),
            ),
            p("cấp ngày", Date("subject.id_issue_date")),
            p("nơi cấp", Field("subject.id_issuer")),
        ],
    ),
    MARITAL_PERIOD,
    item("", "Tình trạng hôn nhân", MARITAL_STATUS_PARTS),
    item(
        "",
        "Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân",
        &[p(
            "",
            FirstOf(&[Field("request.purpose"), Choice("request.purpose_kind")]),
        )],
    ),
    item(
        "",
        "Số lượng Giấy xác nhận tình trạng hôn nhân đề nghị cấp",
        &[p("", Field("request.copies"))],
    ),
    item(
        "",
        "Đã được cấp Giấy xác nhận tình trạng hôn nhân trước đây",
        &[
            p("", Choice("previous.issued")),
            opt(
                "lý do không nộp lại được Giấy đã cấp",
                Field("previous.explanation"),
            ),
        ],
    ),
];

// ---------- Tờ khai đăng ký khai sinh ----------

/// A parent's lines (TT 04/2024 re-drawing S10b §4.1: name, year of birth, ethnicity, nationality,
/// residence, identity document).
macro_rules! parent_lines {
    ($who:literal, $name:literal, $dob:literal, $eth:literal, $nat:literal, $det:literal, $com:literal, $pin:literal) => {
        [
            item(
                "",
                concat!("Họ, chữ đệm, tên người ", $who),
                &[p("", Field($name))],
            ),
            item(
                "",
                "Năm sinh",
                &[
                    p("", Date($dob)),
                    p("Dân tộc", Field($eth)),
                    p("Quốc tịch", Field($nat)),
                ],
            ),
            item("", "Nơi cư trú", &[p("", Address($det, $com))]),
            item(
                "",
                "Giấy tờ tùy thân (số định danh cá nhân)",
                &[p("", Field($pin))],
            ),
        ]
    };
}

const MOTHER: [Line; 4] = parent_lines!(
    "mẹ",
    "mother.full_name",
    "mother.date_of_birth",
    "mother.ethnicity",
    "mother.nationality",
    "mother.residence_detail",
    "mother.residence_commune",
    "mother.pin"
);
const FATHER: [Line; 4] = parent_lines!(
    "cha",
    "father.full_name",
    "father.date_of_birth",
    "father.ethnicity",
    "father.nationality",
    "father.residence_detail",
    "father.residence_commune",
    "father.pin"
);

/// TT 04/2024 (S10b §4.1). Items a v1 dossier lacks (the requester's date of birth, the ID's issuer and
/// date, the parents' marriage certificate) print blank for the requester to fill by hand.
const BIRTH: &[Line] = &[
    item(
        "",
        "Họ, chữ đệm, tên người yêu cầu",
        &[p("", Field("requester.full_name"))],
    ),
    item(
        "",
        "Ngày, tháng, năm sinh",
        &[p("", Date("requester.date_of_birth"))],
    ),
    item("", "Giấy tờ tùy thân", REQUESTER_ID),
    item(
        "",
        "Nơi cư trú",
        &[p(
            "",
            Address("requester.residence_detail", "requester.residence_commune"),
        )],
    ),
    item(
        "",
        "Quan hệ với người được khai sinh",
        &[p("", Choice("requester.relationship"))],
    ),
    Line::Text("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:"),
    // TT 04/2020 art. 31.1: the name in capitals with its diacritics.
    item("", "Họ, chữ đệm, tên", &[p("", Upper("child.full_name"))]),
    item(
        "",
        "Ngày, tháng, năm sinh",
        &[
            p("", Date("child.date_of_birth")),
            p("ghi bằng chữ", DateWords("child.date_of_birth")),
        ],
    ),
    item(
        "",
        "Giới tính",
        &[
            p("", Choice("child.sex")),
            p("Dân tộc", Field("child.ethnicity")),
            p("Quốc tịch", Field("child.nationality")),
        ],
    ),
    // TT 04/2020 art. 31.3: the facility's name and the address of its seat, or the place in 3 levels.
    item(
        "",
        "Nơi sinh",
        &[p(
            "",
            Address("child.place_of_birth", "child.place_of_birth_commune"),
        )],
    ),
    item("", "Quê quán", &[p("", Field("child.hometown"))]),
    MOTHER[0],
    MOTHER[1],
    MOTHER[2],
    MOTHER[3],
    FATHER[0],
    FATHER[1],
    FATHER[2],
    FATHER[3],
    item(
        "",
        "Giấy chứng nhận kết hôn của cha, mẹ",
        &[
            p("Số", Field("parents.marriage_cert_number")),
            p("Quyển số", NotCaptured),
            p("Đăng ký ngày", Date("parents.marriage_cert_date")),
            p("Tại", Field("parents.marriage_cert_place")),
        ],
    ),
    item(
        "",
        "Đề nghị cấp bản sao",
        &[
            Part {
                label: "",
                val: Val::YesNoCount("birth.copies"),
                optional: false,
            },
            p("Số lượng (bản)", Field("birth.copies")),
        ],
    ),
];

// ---------- Tờ khai thay đổi thông tin cư trú (CT01) ----------

const CT01_MEMBERS: Line = Line::Table {
    no: "11.",
    label: "Những thành viên trong hộ gia đình cùng thay đổi",
    columns: &[
        "TT",
        "Họ, chữ đệm và tên",
        "Ngày, tháng, năm sinh",
        "Giới tính",
        "Số định danh cá nhân",
        "Mối quan hệ với chủ hộ",
    ],
    rows: 2,
};

macro_rules! ct01_lines {
    ($item1:literal) => {
        [
            item("1.", $item1, &[p("", Field("child.full_name"))]),
            item("2.", "Ngày, tháng, năm sinh", &[p("", Date("child.date_of_birth"))]),
            item("3.", "Giới tính", &[p("", Choice("child.sex"))]),
            // Given once the birth is registered (the child's PIN comes back from the population DB).
            item("4.", "Số định danh cá nhân", &[p("", ResultNumber("pin"))]),
            item("5.", "Số điện thoại liên hệ", &[p("", Field("requester.phone"))]),
            item("6.", "Email", &[p("", NotCaptured)]),
            item(
                "7.",
                "Họ, chữ đệm và tên chủ hộ",
                &[p("", Field("residence.head_full_name"))],
            ),
            item(
                "8.",
                "Mối quan hệ với chủ hộ",
                &[p("", Choice("residence.relationship_to_head"))],
            ),
            item(
                "9.",
                "Số định danh cá nhân của chủ hộ",
                &[p("", Field("residence.head_pin"))],
            ),
            item(
                "10.",
                "Nội dung đề nghị",
                &[p(
                    "",
                    Prefixed(
                        "Đăng ký thường trú tại: ",
                        &Address("residence.address_detail", "residence.address_commune"),
                    ),
                )],
            ),
            CT01_MEMBERS,
        ]
    };
}

const CT01_2024: [Line; 11] = ct01_lines!("Họ, chữ đệm và tên");
const CT01_2025: [Line; 11] = ct01_lines!("Họ, chữ đệm và tên khai sinh");

const NAME_PIN_OWNER: &[Part] = &[
    p("Họ và tên", Field("residence.owner_full_name")),
    p("Số định danh cá nhân", Field("residence.owner_pin")),
];
const NAME_PIN_PARENT: &[Part] = &[
    p("Họ và tên", Field("insurance.guardian_name")),
    p("Số định danh cá nhân", NotCaptured),
];

/// The four blocks of CT01 (S10a, S10c): household head, legal owner, parent or guardian (of a minor),
/// declarant. Name and PIN in the owner's and the parent's blocks are written when the consent is given
/// through VNeID (footnote (8)); on paper they sign.
const CT01_SIGNS: &[Signature] = &[
    Signature {
        title: "Ý KIẾN CỦA CHỦ HỘ",
        note: "(Ký, ghi rõ họ tên)",
        lines: &[],
        name: Val::S(Field("residence.head_full_name")),
        thumb_note: None,
    },
    Signature {
        title: "Ý KIẾN CỦA CHỦ SỞ HỮU CHỖ Ở HỢP PHÁP",
        note: "(Ký, ghi rõ họ tên)",
        lines: NAME_PIN_OWNER,
        name: Val::S(Field("residence.owner_full_name")),
        thumb_note: None,
    },
    Signature {
        title: "Ý KIẾN CỦA CHA, MẸ HOẶC NGƯỜI GIÁM HỘ",
        note: "(Ký, ghi rõ họ tên)",
        lines: NAME_PIN_PARENT,
        name: Val::S(Field("insurance.guardian_name")),
        thumb_note: None,
    },
    Signature {
        title: "NGƯỜI KÊ KHAI",
        note: "(Ký, ghi rõ họ tên)",
        lines: &[],
        name: Val::S(Field("requester.full_name")),
        thumb_note: Some("(Điểm chỉ, ghi rõ họ tên)"),
    },
];

const CT01_OATH: &str = "Tôi xin cam đoan những thông tin kê khai trên là đúng sự thật và chịu trách nhiệm trước pháp luật về nội dung đã kê khai.";

// ---------- TK1-TS ----------

const TK1_TS: &[Line] = &[
    Line::Text("I. Áp dụng đối với người tham gia tra cứu không thấy mã số BHXH"),
    item(
        "[01].",
        "Họ và tên (viết chữ in hoa)",
        &[p(
            "",
            FirstOf(&[Field("insurance.name_capitals"), Upper("child.full_name")]),
        )],
    ),
    item("[02].", "Giới tính", &[p("", Choice("child.sex"))]),
    item(
        "[03].",
        "Ngày, tháng, năm sinh",
        &[p("", Date("child.date_of_birth"))],
    ),
    item("[04].", "Quốc tịch", &[p("", Field("child.nationality"))]),
    item("[05].", "Dân tộc", &[p("", Field("child.ethnicity"))]),
    item(
        "[06].",
        "Số căn cước/Số định danh cá nhân",
        &[p("", ResultNumber("pin"))],
    ),
    item("[07].", "Điện thoại", &[p("", Field("insurance.phone"))]),
    item("[08].", "Email", &[p("", NotCaptured)]),
    item(
        "[09].",
        "Nơi đăng ký khai sinh",
        &[p("", Commune("addressee.commune"))],
    ),
    item(
        "[10].",
        "Họ tên cha/mẹ/người giám hộ (đối với trẻ em dưới 6 tuổi)",
        &[p("", Field("insurance.guardian_name"))],
    ),
    item(
        "[11].",
        "Địa chỉ nhận kết quả",
        &[p(
            "",
            Address(
                "insurance.card_address_detail",
                "insurance.card_address_commune",
            ),
        )],
    ),
];

/// Every layout, forms in the order they are printed for a dossier.
pub const LAYOUTS: &[Layout] = &[
    Layout {
        form: "marital",
        procedure_id: "marital-status-certificate",
        catalogue_versions: &[1],
        from: "2024-06-06",
        form_code: "",
        title: "TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
        addressee: Some(Val::S(Field("addressee.commune"))),
        lines: MARITAL_V1,
        oath: OATH_CIVIL,
        place_prefix: "Làm tại: ",
        place: Val::S(Field("addressee.commune")),
        signatures: REQUESTER_SIGNS,
        source: "TT 04/2020/TT-BTP as replaced by TT 04/2024/TT-BTP; labels and order from re-drawings S10d and portal record S5 [secondary]; content TT 04/2020 arts. 31, 33 [read]",
    },
    Layout {
        form: "marital",
        procedure_id: "marital-status-certificate",
        catalogue_versions: &[2],
        from: "2024-06-06",
        form_code: "",
        title: "TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
        addressee: Some(Val::Authority("Ủy ban nhân dân ", "addressee.commune")),
        lines: MARITAL_V2,
        oath: OATH_CIVIL,
        place_prefix: "Làm tại: ",
        place: Val::S(Commune("addressee.commune")),
        signatures: REQUESTER_SIGNS,
        source: "TT 04/2020/TT-BTP as replaced by TT 04/2024/TT-BTP; labels and order from re-drawings S10d and portal record S5 [secondary]; status details TT 04/2020 art. 33.1 [read], S5 [read]",
    },
    Layout {
        form: "birth",
        procedure_id: "birth-residence-insurance",
        catalogue_versions: &[1, 2],
        from: "2024-06-06",
        form_code: "",
        title: "TỜ KHAI ĐĂNG KÝ KHAI SINH",
        addressee: Some(Val::Authority("Ủy ban nhân dân ", "addressee.commune")),
        lines: BIRTH,
        oath: OATH_CIVIL,
        place_prefix: "Làm tại: ",
        place: Val::S(Commune("addressee.commune")),
        signatures: REQUESTER_SIGNS,
        source: "TT 04/2024/TT-BTP; items from the re-drawing S10b §4.1 [secondary]; content TT 04/2020 arts. 25.4, 31 [read]",
    },
    Layout {
        form: "ct01",
        procedure_id: "birth-residence-insurance",
        catalogue_versions: &[1, 2],
        from: "2024-01-01",
        form_code: "Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA ngày 17/11/2023 của Bộ trưởng Bộ Công an",
        title: "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
        addressee: Some(Val::Authority("Công an ", "residence.address_commune")),
        lines: &CT01_2024,
        oath: CT01_OATH,
        place_prefix: "",
        place: Val::S(Commune("residence.address_commune")),
        signatures: CT01_SIGNS,
        source: "CT01 of TT 66/2023/TT-BCA, re-typed S10c [secondary]",
    },
    Layout {
        form: "ct01",
        procedure_id: "birth-residence-insurance",
        catalogue_versions: &[1, 2],
        from: "2025-07-01",
        form_code: "Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA, sửa đổi theo Thông tư số 53/2025/TT-BCA ngày 01/07/2025",
        title: "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
        addressee: Some(Val::Authority("Công an ", "residence.address_commune")),
        lines: &CT01_2025,
        oath: CT01_OATH,
        place_prefix: "",
        place: Val::S(Commune("residence.address_commune")),
        signatures: CT01_SIGNS,
        source: "CT01 as amended by TT 53/2025/TT-BCA, re-drawing S10b §4.2, S19 [secondary]",
    },
    Layout {
        form: "ct01",
        procedure_id: "birth-residence-insurance",
        catalogue_versions: &[1, 2],
        from: "2026-07-01",
        form_code: "Mẫu CT01 ban hành kèm theo Thông tư số 116/2026/TT-BCA ngày 29 tháng 6 năm 2026",
        title: "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
        addressee: Some(Val::Authority("Công an ", "residence.address_commune")),
        lines: &CT01_2025,
        oath: CT01_OATH,
        place_prefix: "",
        place: Val::S(Commune("residence.address_commune")),
        signatures: CT01_SIGNS,
        source: "CT01 of TT 116/2026/TT-BCA (art. 27: from 01/07/2026 [read, S9]); items from two re-drawings S10a [secondary]",
    },
    Layout {
        form: "tk1ts",
        procedure_id: "birth-residence-insurance",
        catalogue_versions: &[1, 2],
        from: "2023-04-01",
        form_code: "Mẫu TK1-TS (Ban hành kèm theo Quyết định số 490/QĐ-BHXH ngày 28/03/2023 của Bảo hiểm xã hội Việt Nam)",
        title: "TỜ KHAI THAM GIA, ĐIỀU CHỈNH THÔNG TIN BẢO HIỂM XÃ HỘI, BẢO HIỂM Y TẾ",
        addressee: None,
        lines: TK1_TS,
        oath: "Tôi cam đoan những nội dung kê khai là đúng và chịu trách nhiệm trước pháp luật về những nội dung đã kê khai.",
        place_prefix: "",
        place: Val::S(Commune("addressee.commune")),
        signatures: &[Signature {
            title: "Người kê khai",
            note: "(Ký, ghi rõ họ tên)",
            lines: &[],
            name: Val::S(Field("insurance.guardian_name")),
            thumb_note: Some("(Điểm chỉ, ghi rõ họ tên)"),
        }],
        source: "TK1-TS of QĐ 490/QĐ-BHXH (amending QĐ 505/QĐ-BHXH); Part I labels as the kit's export reads them, S21 [secondary]; the 2023 sub-items of [09] and [11] were not found",
    },
];

/// The layouts that print a dossier of `procedure_id` version `version` declared on `on` (`YYYY-MM-DD`):
/// per form, the latest version in force that day (the first one before every version's day).
pub fn for_dossier(procedure_id: &str, version: u32, on: &str) -> Vec<&'static Layout> {
    let mut forms: Vec<&str> = Vec::new();
    for l in LAYOUTS {
        if l.procedure_id == procedure_id
            && l.catalogue_versions.contains(&version)
            && !forms.contains(&l.form)
        {
            forms.push(l.form);
        }
    }
    forms
        .into_iter()
        .filter_map(|form| {
            let mut vs: Vec<&Layout> = LAYOUTS
                .iter()
                .filter(|l| {
                    l.form == form
                        && l.procedure_id == procedure_id
                        && l.catalogue_versions.contains(&version)
                })
                .collect();
            vs.sort_by_key(|l| l.from);
            vs.iter()
                .rev()
                .find(|l| l.from <= on)
                .or(vs.first())
                .copied()
        })
        .collect()
}
