//! Ethnic groups: names with an explicit code system, since Vietnam's two official code lists disagree.
//!
//! The dossier stores the group's name (NFC) in the field; the procedure catalogue says which code system
//! the name belongs to (today only [`CODE_SYSTEM_1979`]), so the code can be looked up without ambiguity.

use std::sync::OnceLock;

/// Tag of the 1979 list (Decision 121-TCTK/PPCĐ), the list the civil-status forms use.
pub const CODE_SYSTEM_1979: &str = "vn-1979";

const SOURCE_1979: &str = include_str!("../catalogue/ethnic-groups-1979.csv");

/// One ethnic group of a code list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EthnicGroup {
    /// Code in its list, e.g. `22`.
    pub code: &'static str,
    /// Vietnamese name, e.g. `Xtiêng`.
    pub name: &'static str,
    /// Code system tag, e.g. `vn-1979`.
    pub system: &'static str,
}

/// The 1979 list: 54 groups, plus "foreigner" and "not known".
pub fn ethnic_groups() -> &'static [EthnicGroup] {
    static LIST: OnceLock<Vec<EthnicGroup>> = OnceLock::new();
    LIST.get_or_init(|| {
        SOURCE_1979
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(','))
            .map(|(code, name)| EthnicGroup {
                code: code.trim(),
                name: name.trim(),
                system: CODE_SYSTEM_1979,
            })
            .collect()
    })
}

/// The group called `name` (exact NFC spelling), if any.
pub fn find_ethnic_group(name: &str) -> Option<&'static EthnicGroup> {
    ethnic_groups().iter().find(|g| g.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn the_1979_list_is_complete_and_nfc() {
        let list = ethnic_groups();
        assert_eq!(list.len(), 56);
        assert_eq!(find_ethnic_group("Kinh").unwrap().code, "01");
        assert_eq!(find_ethnic_group("Xtiêng").unwrap().code, "22");
        assert_eq!(find_ethnic_group("Ra-glai").unwrap().code, "21");
        for g in list {
            assert_eq!(g.name.nfc().collect::<String>(), g.name);
        }
    }

    #[test]
    fn the_web_client_offers_the_same_names() {
        let client: Vec<String> =
            serde_json::from_str(include_str!("../../client-web/data/ethnic-groups.json")).unwrap();
        let ours: Vec<&str> = ethnic_groups().iter().map(|g| g.name).collect();
        assert_eq!(client, ours);
    }
}
