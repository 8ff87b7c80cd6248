//! IAM's wildcards: `*` (any run of characters, possibly empty) and `?` (one character).
//!
//! Actions match case-insensitively (`IAM:getuser` is `iam:GetUser`). ARNs match
//! case-sensitively and segment by segment, as IAM documents for the `Resource` element
//! and the `Arn*` condition operators: each of the first five colon-separated segments
//! (`arn`, partition, service, region, account) is matched on its own, and the rest (the
//! resource, which may itself contain colons) as one. A pattern with fewer segments whose
//! last one ends in `*` lets that `*` run to the end of the ARN (`arn:aws:states:*`).

/// Whether `text` matches the wildcard `pattern`, comparing characters exactly.
pub fn glob(pattern: &str, text: &str) -> bool {
    glob_chars(
        &pattern.chars().collect::<Vec<_>>(),
        &text.chars().collect::<Vec<_>>(),
    )
}

/// Whether `text` matches `pattern`, ignoring ASCII case (IAM action names).
pub fn glob_ignore_case(pattern: &str, text: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

/// Iterative wildcard matching with backtracking to the last `*` (linear in practice).
fn glob_chars(p: &[char], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether an action such as `dynamodb:PutItem` matches an `Action` entry such as
/// `dynamodb:*Item` or `*`.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob_ignore_case(pattern, action)
}

/// Whether a resource ARN (or `*`, the resource of an action that takes no resource type)
/// matches a `Resource` entry or an `Arn*` condition value.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if !pattern.starts_with("arn:") || !arn.starts_with("arn:") {
        return glob(pattern, arn);
    }
    let pattern: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn: Vec<&str> = arn.splitn(6, ':').collect();
    let last = pattern.len() - 1;
    for (i, segment) in pattern.iter().enumerate() {
        if i == last {
            // The last segment of the pattern takes the rest of the ARN: the resource
            // part, or (a `*` ending a shorter pattern) everything after it.
            let rest = arn.get(i..).map(|r| r.join(":"));
            return match rest {
                Some(rest) if i == 5 || segment.ends_with('*') => glob(segment, &rest),
                Some(rest) => arn.len() == pattern.len() && glob(segment, &rest),
                None => false,
            };
        }
        match arn.get(i) {
            Some(value) if glob(segment, value) => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*Item", "PutItem"));
        assert!(!glob("*Item", "PutItems"));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(!glob("abc", "ABC"));
        assert!(glob_ignore_case("ABC", "abc"));
    }

    #[test]
    fn actions_ignore_case() {
        assert!(action_matches("dynamodb:*", "dynamodb:PutItem"));
        assert!(action_matches("DynamoDB:putitem", "dynamodb:PutItem"));
        assert!(action_matches("iam:List*", "iam:ListUserTags"));
        assert!(!action_matches("iam:List*", "iam:GetUser"));
        assert!(!action_matches("dynamodb:PutItem", "dynamodb:PutItems"));
        assert!(action_matches("*", "kms:Decrypt"));
    }

    #[test]
    fn arns_match_segment_by_segment() {
        let user = "arn:aws:iam::123456789012:user/alice";
        assert!(arn_matches("arn:aws:iam::123456789012:user/*", user));
        assert!(arn_matches("arn:*:iam::*:user/alice", user));
        assert!(!arn_matches("arn:aws:iam::123456789012:user/Alice", user));
        assert!(!arn_matches("arn:aws:iam::111122223333:user/*", user));
        // A `*` inside a segment does not cross into the next one...
        assert!(!arn_matches("arn:aws:iam*:user/alice", user));
        // ...but one that ends a shorter pattern runs to the end.
        assert!(arn_matches("arn:aws:iam::*", user));
        assert!(arn_matches("arn:aws:*", user));
        // The resource segment may contain colons.
        let alias = "arn:aws:lambda:us-east-1:123456789012:function:f:live";
        assert!(arn_matches(
            "arn:aws:lambda:us-east-1:123456789012:function:f*",
            alias
        ));
        assert!(!arn_matches(
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            alias
        ));
        let index = "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/gsi1";
        assert!(!arn_matches(
            "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            index
        ));
        assert!(arn_matches(
            "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/*",
            index
        ));
        // `*` is the resource of an action that takes no resource type: only `*` matches it.
        assert!(arn_matches("*", "*"));
        assert!(!arn_matches("arn:aws:states:*", "*"));
    }
}
