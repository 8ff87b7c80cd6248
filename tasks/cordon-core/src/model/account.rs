//! The AWS account Cordon protects (its home account).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A 12-digit AWS account id. The classifier compares every event's account against the
/// home account and rejects the others, so an organisation-wide event bus can never make
/// Cordon act on another account's `alice` as if she were this account's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

/// A string that is not a 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an AWS account id (exactly 12 digits, e.g. 111122223333)")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// Accepts exactly 12 ASCII digits (surrounding whitespace is ignored).
    pub fn parse(s: &str) -> Result<AccountId, InvalidAccountId> {
        let t = s.trim();
        if t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(t.to_string()))
        } else {
            Err(InvalidAccountId(s.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountId::parse(s)
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccountId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        AccountId::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for AccountId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_twelve_digits_are_an_account() {
        assert_eq!(
            AccountId::parse(" 111122223333 ").map(|a| a.to_string()),
            Ok("111122223333".to_string())
        );
        for bad in [
            "",
            "11112222333",
            "1111222233334",
            "11112222333a",
            "arn:aws:iam::1",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
        let e = AccountId::parse("abc").unwrap_err();
        assert!(e.to_string().contains("12 digits"), "{e}");
        let back: AccountId = serde_json::from_str("\"444455556666\"").expect("valid");
        assert_eq!(back, *"444455556666");
        assert!(serde_json::from_str::<AccountId>("\"4444\"").is_err());
    }
}
