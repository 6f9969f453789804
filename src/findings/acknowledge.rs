//! Acknowledged findings: a team marks a finding as intended, with a
//! reason, in `.reachdiff.yaml` (`acknowledge:`) or with a
//! `reachdiff.io/acknowledge` annotation on the object the finding names.
//! An acknowledged finding is still a finding (counted, listed apart with
//! its reason) but never trips `--strict`; an acknowledgement that matches
//! no finding is a finding of its own (`acknowledgement-unused`), so a
//! stale one cannot hide the next flaw of the same object quietly.

use super::Finding;
use crate::diag::{Code, Diagnostic};
use crate::manifest::{ACKNOWLEDGE_ANNOTATION, AckSource, Acknowledgement};

/// Whether `ack` is about finding `d`: the same code and object, and the
/// field (if the acknowledgement names one) is the finding's or encloses it.
pub fn matches(ack: &Acknowledgement, d: &Diagnostic) -> bool {
    d.code != Code::AcknowledgementUnused
        && d.code.as_str() == ack.code
        && d.object.as_deref() == Some(ack.object.as_str())
        && ack.field.as_deref().is_none_or(|f| {
            d.field.as_deref().is_some_and(|df| {
                df == f
                    || df
                        .strip_prefix(f)
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
        })
}

/// Marks each finding the first matching acknowledgement acknowledges, and
/// adds an `acknowledgement-unused` finding for each acknowledgement that
/// matches none. Keeps the (namespace, code, position) order.
pub fn acknowledge(findings: &mut Vec<Finding>, acks: &[Acknowledgement]) {
    let mut used = vec![false; acks.len()];
    for f in findings.iter_mut() {
        let mut first = None;
        for (i, a) in acks.iter().enumerate() {
            if matches(a, &f.diagnostic) {
                used[i] = true;
                first.get_or_insert(i);
            }
        }
        f.acknowledged = first.map(|i| acks[i].clone());
    }
    for (a, _) in acks.iter().zip(&used).filter(|(_, u)| !**u) {
        findings.push(unused(a));
    }
    super::sort_findings(findings);
}

/// The namespace a finding about `object` is grouped under
/// (`NetworkPolicy shop/web` and `Namespace shop`: `shop`).
fn namespace_of(object: &str) -> &str {
    let rest = object.split_once(' ').map_or(object, |(_, r)| r);
    match (object.starts_with("Namespace "), rest.split_once('/')) {
        (true, _) => rest,
        (false, Some((ns, _))) => ns,
        (false, None) => "",
    }
}

fn unused(a: &Acknowledgement) -> Finding {
    let what = format!(
        "acknowledges `{}` here ({:?}), but there is no such finding: remove it, or it will hide the next one unnoticed",
        a.code, a.reason
    );
    let mut d = match &a.source {
        AckSource::Config { index } => {
            let field = a
                .field
                .as_deref()
                .map(|f| format!(" at {f}"))
                .unwrap_or_default();
            Diagnostic::new(
                Code::AcknowledgementUnused,
                format!(".reachdiff.yaml acknowledge[{index}]{field} {what}"),
            )
        }
        AckSource::Annotation(span) => Diagnostic::new(
            Code::AcknowledgementUnused,
            format!("the annotation {what}"),
        )
        .at(span.clone())
        .field(format!("metadata.annotations.{ACKNOWLEDGE_ANNOTATION}")),
    };
    d.object = Some(a.object.clone());
    Finding::new(namespace_of(&a.object), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(code: &str, object: &str, field: Option<&str>) -> Acknowledgement {
        Acknowledgement {
            code: code.into(),
            object: object.into(),
            field: field.map(Into::into),
            reason: "public storefront".into(),
            source: AckSource::Config { index: 0 },
        }
    }

    fn finding(field: &str) -> Finding {
        Finding::new(
            "shop",
            Diagnostic::new(Code::IngressFromAnywhere, "no from")
                .object("NetworkPolicy shop/web")
                .field(field),
        )
    }

    #[test]
    fn a_field_encloses_its_parts_only() {
        let f = finding("spec.ingress[1]");
        let d = &f.diagnostic;
        assert!(matches(
            &ack("ingress-from-anywhere", "NetworkPolicy shop/web", None),
            d
        ));
        assert!(matches(
            &ack(
                "ingress-from-anywhere",
                "NetworkPolicy shop/web",
                Some("spec.ingress[1]")
            ),
            d
        ));
        assert!(matches(
            &ack(
                "ingress-from-anywhere",
                "NetworkPolicy shop/web",
                Some("spec")
            ),
            d
        ));
        // `spec.ingress[1]` is not inside `spec.ingress[10]`, nor the reverse.
        assert!(!matches(
            &ack(
                "ingress-from-anywhere",
                "NetworkPolicy shop/web",
                Some("spec.ingress[10]")
            ),
            d
        ));
        assert!(!matches(
            &ack(
                "ingress-from-anywhere",
                "NetworkPolicy shop/web",
                Some("spec.ingress[")
            ),
            d
        ));
        assert!(!matches(
            &ack("egress-to-anywhere", "NetworkPolicy shop/web", None),
            d
        ));
        assert!(!matches(
            &ack("ingress-from-anywhere", "NetworkPolicy shop/webx", None),
            d
        ));
    }

    #[test]
    fn unmatched_acknowledgements_are_findings() {
        let mut fs = vec![finding("spec.ingress[0]")];
        let acks = [
            ack("ingress-from-anywhere", "NetworkPolicy shop/web", None),
            ack("no-default-deny", "Namespace shop", None),
        ];
        acknowledge(&mut fs, &acks);
        assert_eq!(fs.len(), 2);
        let acked: Vec<bool> = fs.iter().map(|f| f.acknowledged.is_some()).collect();
        let unused: Vec<&Finding> = fs
            .iter()
            .filter(|f| f.code() == Code::AcknowledgementUnused)
            .collect();
        assert_eq!(acked.iter().filter(|a| **a).count(), 1);
        assert_eq!(unused.len(), 1);
        assert_eq!(unused[0].namespace, "shop");
        assert_eq!(
            unused[0].diagnostic.object.as_deref(),
            Some("Namespace shop")
        );
        assert!(unused[0].acknowledged.is_none());
    }

    #[test]
    fn namespaces_of_objects() {
        assert_eq!(namespace_of("NetworkPolicy shop/web"), "shop");
        assert_eq!(namespace_of("Namespace shop"), "shop");
        assert_eq!(namespace_of("AdminNetworkPolicy guard"), "");
    }
}
