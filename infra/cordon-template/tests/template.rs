//! The reader against `infra/template.yaml` itself, and resolution rules on small templates.
use std::collections::BTreeMap;
use std::path::Path;

use cordon_template::{Call, Error, Expr, Policy, ResolveError, Template, Values};

fn infra() -> Template {
    Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
        .expect("infra/template.yaml parses")
}

fn local_values(template: &Template) -> Values {
    Values::new("123456789012", "us-east-1", "aws", "cordon-local")
        .with_parameters(template.parameters(), &BTreeMap::new())
        .expect("parameters")
}

#[test]
fn every_function_has_its_binary_and_policies() {
    let template = infra();
    let binaries: Vec<_> = template
        .functions()
        .map(|f| {
            f.binary
                .as_deref()
                .expect("every function names its binary")
        })
        .collect();
    assert_eq!(
        binaries,
        [
            "cordon-record",
            "cordon-enrich",
            "cordon-quarantine",
            "cordon-tag",
            "cordon-notify",
            "cordon-release",
            "cordon-approval",
            "cordon-mfa-audit"
        ]
    );
    for function in template.functions() {
        assert!(
            matches!(function.policies.as_slice(), [Policy::Statements(s)] if !s.is_empty()),
            "{} has one inline statement list: {:?}",
            function.logical_id,
            function.policies
        );
    }
    let approval = template
        .function_by_binary("cordon-approval")
        .expect("approval");
    assert_eq!(
        approval.url_logical_id().as_deref(),
        Some("ApprovalFunctionUrl")
    );
    assert_eq!(approval.role_logical_id(), "ApprovalFunctionRole");
    let machine = template.state_machines().next().expect("the state machine");
    let invoked: Vec<_> = machine
        .policies
        .iter()
        .filter_map(|p| match p {
            Policy::Template { name, parameters } if name == "LambdaInvokePolicy" => {
                match parameters.get("FunctionName")?.as_intrinsic()?.call {
                    Call::Ref(ref id) => Some(id.as_str()),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        invoked,
        [
            "RecordFunction",
            "EnrichFunction",
            "QuarantineFunction",
            "TagFunction",
            "NotifyFunction"
        ]
    );
}

#[test]
fn a_function_gets_the_globals_and_its_own_variables() {
    let template = infra();
    let mut values = local_values(&template);
    values.set_ref("IncidentTable", "cordon-incidents");
    values.set_ref(
        "IncidentTopic",
        "arn:aws:sns:us-east-1:123456789012:cordon-incidents",
    );
    values.set_ref(
        "QuarantinePolicy",
        "arn:aws:iam::123456789012:policy/AutomatedSecurityQuarantine",
    );
    values.set_attribute("ApprovalFunctionUrl", "FunctionUrl", "http://127.0.0.1:1/");
    // Cordon's own roles, by ARN (CORDON_OWN_ROLE_ARNS).
    for f in template.functions() {
        values.set_attribute(
            f.role_logical_id(),
            "Arn",
            format!("arn:aws:iam::123456789012:role/{}", f.role_logical_id()),
        );
    }

    let record = template
        .function_by_binary("cordon-record")
        .expect("record");
    let env = template
        .resolved_environment(record, &values)
        .expect("resolved");
    let expected = BTreeMap::from([
        ("RUST_LOG", "info"),
        ("CORDON_ACCOUNT_ID", "123456789012"),
        ("CORDON_TABLE_NAME", "cordon-incidents"),
        (
            "CORDON_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:cordon-incidents",
        ),
        (
            "CORDON_QUARANTINE_POLICY_ARN",
            "arn:aws:iam::123456789012:policy/AutomatedSecurityQuarantine",
        ),
        ("CORDON_RESPONSE_POLICY", "{}"),
        ("CORDON_ALLOWLISTED_ACTORS", ""),
        ("CORDON_PROTECTED_PRINCIPALS", ""),
        ("CORDON_APPROVAL_TIMEOUT_SECONDS", "3600"),
        (
            "CORDON_OWN_ROLE_ARNS",
            "arn:aws:iam::123456789012:role/RecordFunctionRole,\
             arn:aws:iam::123456789012:role/EnrichFunctionRole,\
             arn:aws:iam::123456789012:role/QuarantineFunctionRole,\
             arn:aws:iam::123456789012:role/TagFunctionRole,\
             arn:aws:iam::123456789012:role/NotifyFunctionRole,\
             arn:aws:iam::123456789012:role/ReleaseFunctionRole,\
             arn:aws:iam::123456789012:role/ApprovalFunctionRole",
        ),
        (
            "CORDON_DENY_ALL_POLICY_ARN",
            "arn:aws:iam::aws:policy/AWSDenyAll",
        ),
        // Record's own: Cordon's resources are recognised by the stack's name.
        ("CORDON_STACK_NAME", "cordon-local"),
    ]);
    let got: BTreeMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, expected);

    let notify = template
        .function_by_binary("cordon-notify")
        .expect("notify");
    let env = template
        .resolved_environment(notify, &values)
        .expect("resolved");
    assert_eq!(env["CORDON_APPROVAL_URL"], "http://127.0.0.1:1/");
    assert_eq!(env["CORDON_RELEASE_LINK_HOURS"], "24");
    // The globals (record's CORDON_STACK_NAME is not one of them) and its own URL.
    assert!(!env.contains_key("CORDON_STACK_NAME"));
    assert_eq!(env.len(), (expected.len() - 1) + 2);

    // Without the URL the notify function cannot be configured, and the error says why.
    let e = template
        .resolved_environment(notify, &local_values(&template))
        .expect_err("unresolved");
    assert!(e.to_string().contains("NotifyFunction"), "{e}");
}

#[test]
fn parameters_can_be_overridden_but_not_invented() {
    let template = infra();
    let overrides = BTreeMap::from([
        ("ResponsePolicy".to_string(), r#"{"a": 1}"#.to_string()),
        (
            "ProtectedPrincipals".to_string(),
            "breakglass,ops".to_string(),
        ),
    ]);
    let mut values = Values::new("1", "r", "aws", "s")
        .with_parameters(template.parameters(), &overrides)
        .expect("parameters");
    values.set_ref("IncidentTable", "t");
    values.set_ref("IncidentTopic", "t");
    values.set_ref("QuarantinePolicy", "p");
    // Cordon's own roles, by ARN (CORDON_OWN_ROLE_ARNS).
    for f in template.functions() {
        values.set_attribute(
            f.role_logical_id(),
            "Arn",
            format!("r/{}", f.role_logical_id()),
        );
    }
    let tag = template.function_by_binary("cordon-tag").expect("tag");
    let env = template
        .resolved_environment(tag, &values)
        .expect("resolved");
    assert_eq!(env["CORDON_RESPONSE_POLICY"], r#"{"a": 1}"#);
    assert_eq!(env["CORDON_PROTECTED_PRINCIPALS"], "breakglass,ops");

    let invented = BTreeMap::from([("Nope".to_string(), "x".to_string())]);
    let e = Values::new("1", "r", "aws", "s")
        .with_parameters(template.parameters(), &invented)
        .expect_err("unknown parameter");
    assert!(e.to_string().contains("Parameters.Nope"), "{e}");
}

#[test]
fn the_definition_gets_its_substitutions() {
    let template = infra();
    let machine = template.state_machines().next().expect("the state machine");
    assert_eq!(
        machine.definition_uri.as_deref(),
        Some("../statemachine/incident.asl.json")
    );
    let mut values = local_values(&template);
    for f in template.functions() {
        let binary = f.binary.clone().expect("binary");
        values.set_attribute(
            &f.logical_id,
            "Arn",
            format!("arn:aws:lambda:us-east-1:123456789012:function:{binary}"),
        );
    }
    let definition = template.definition(machine, &values).expect("definition");
    assert!(!definition.contains("${"));
    assert!(
        definition.contains("arn:aws:lambda:us-east-1:123456789012:function:cordon-quarantine")
    );
    let e = template
        .definition(machine, &local_values(&template))
        .expect_err("no function ARNs");
    assert!(matches!(e, Error::Resolve { .. }), "{e}");
}

fn expr_of(yaml: &str) -> Expr {
    let template = Template::parse(&format!(
        "Resources:\n  R:\n    Type: X\n    Properties:\n      V: {yaml}\n"
    ))
    .expect("template");
    template.resources()[0].property("V").expect("V").clone()
}

#[test]
fn sub_join_ref_and_get_att_resolve() {
    let mut values = Values::new("111122223333", "eu-west-1", "aws", "stack");
    values.set_ref("Topic", "arn:topic");
    values.set_attribute("Fn", "Arn", "arn:fn");
    let resolve = |yaml: &str| values.resolve_string(&expr_of(yaml));
    assert_eq!(resolve("!Ref Topic"), Ok("arn:topic".into()));
    assert_eq!(resolve("{Ref: AWS::Region}"), Ok("eu-west-1".into()));
    assert_eq!(resolve("!GetAtt Fn.Arn"), Ok("arn:fn".into()));
    assert_eq!(
        resolve("!Sub '${AWS::StackName}-${Fn.Arn}-${Topic}-${!Literal}'"),
        Ok("stack-arn:fn-arn:topic-${Literal}".into())
    );
    assert_eq!(
        resolve("{Fn::Sub: ['${X}/${AWS::AccountId}', {X: !Ref Topic}]}"),
        Ok("arn:topic/111122223333".into())
    );
    assert_eq!(
        resolve("!Join ['-', [a, !Ref Topic, 3]]"),
        Ok("a-arn:topic-3".into())
    );
    assert_eq!(
        resolve("!Ref Missing"),
        Err(ResolveError::Unknown {
            function: "!Ref".into(),
            name: "Missing".into()
        })
    );
    assert_eq!(
        resolve("!If [C, a, b]"),
        Err(ResolveError::Unsupported {
            function: "!If".into()
        })
    );
    assert!(matches!(
        resolve("[a, b]"),
        Err(ResolveError::NotAString { .. })
    ));
}

#[test]
fn malformed_templates_are_refused_with_the_place() {
    assert!(matches!(
        Template::parse("Parameters: {}\n"),
        Err(Error::NoResources)
    ));
    assert!(matches!(
        Template::parse("Resources: [\n"),
        Err(Error::Yaml(_))
    ));
    let e =
        Template::parse("Resources:\n  R:\n    Type: X\n    Properties:\n      A: !GetAtt Nodot\n")
            .expect_err("malformed GetAtt");
    assert_eq!(
        e.to_string(),
        "resource `R`, field `Properties.A`: !GetAtt takes Resource.Attribute"
    );
    let e = Template::load(Path::new("/nonexistent/cordon/template.yaml")).expect_err("missing");
    assert!(
        e.to_string().contains("/nonexistent/cordon/template.yaml"),
        "{e}"
    );
}

#[test]
fn a_functions_timeout_is_its_own_else_the_globals_else_sams_default() {
    use std::time::Duration;
    let text = r#"
Parameters:
  Slow: {Type: Number, Default: 120}
Globals:
  Function:
    Timeout: 30
Resources:
  Plain: {Type: AWS::Serverless::Function, Properties: {}}
  Own: {Type: AWS::Serverless::Function, Properties: {Timeout: 5}}
  FromParameter: {Type: AWS::Serverless::Function, Properties: {Timeout: !Ref Slow}}
  TooLong: {Type: AWS::Serverless::Function, Properties: {Timeout: 901}}
  Fractional: {Type: AWS::Serverless::Function, Properties: {Timeout: "2.5"}}
"#;
    let template = Template::parse(text).expect("parses");
    let values = local_values(&template);
    let timeout = |id: &str| template.timeout_of(template.function(id).expect(id), &values);
    assert_eq!(timeout("Plain").expect("globals"), Duration::from_secs(30));
    assert_eq!(timeout("Own").expect("own"), Duration::from_secs(5));
    assert_eq!(
        timeout("FromParameter").expect("ref"),
        Duration::from_secs(120)
    );
    for id in ["TooLong", "Fractional"] {
        let e = timeout(id).expect_err(id).to_string();
        assert!(e.contains(id) && e.contains("1 to 900"), "{e}");
    }

    let bare =
        Template::parse("Resources:\n  F: {Type: AWS::Serverless::Function, Properties: {}}\n")
            .expect("parses");
    let values = local_values(&bare);
    assert_eq!(
        bare.timeout_of(bare.function("F").expect("F"), &values)
            .expect("default"),
        Duration::from_secs(3),
        "SAM's default"
    );

    // Every function of the real template: the 30 s its Globals set, unless its own.
    let infra = infra();
    let values = local_values(&infra);
    for f in infra.functions() {
        let t = infra.timeout_of(f, &values).expect("resolves");
        assert!(t >= Duration::from_secs(30), "{}: {t:?}", f.logical_id);
    }
}
