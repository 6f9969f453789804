//! The few words every layer writes: counts with their noun, and the
//! connection sets of rows. Pure; the renderers, the gates and the
//! findings all take them from here so the same thing is said one way.

use crate::model::ConnSet;

/// "1 path", "2 paths".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `TCP 80,443 · UDP 53`, or `all ports`: [`ConnSet`]'s one text form.
pub fn conn_text(c: &ConnSet) -> String {
    c.to_string()
}

/// A Cilium pseudo-endpoint in words (CI-33): "the node (host)", "the
/// Kubernetes API server", "fqdn api.example.com".
pub fn pseudo_text(p: &crate::model::Pseudo) -> String {
    use crate::model::Pseudo;
    match p {
        Pseudo::Fqdn(n) => format!("fqdn {n}"),
        Pseudo::Entity(e) => match e.as_str() {
            "host" => "the node (host)".into(),
            "remote-node" => "the other nodes (remote-node)".into(),
            "kube-apiserver" => "the Kubernetes API server".into(),
            "health" => "Cilium's health endpoints (health)".into(),
            "ingress" => "Cilium's ingress proxy (ingress)".into(),
            "init" => "endpoints without a resolved identity (init)".into(),
            "unmanaged" => "endpoints Cilium does not manage (unmanaged)".into(),
            other => format!("entity {other}"),
        },
    }
}

/// Whether a path to this pseudo-endpoint is an exposure (README, Cilium):
/// the API server and the nodes are the control plane a pod should not
/// newly reach; an FQDN is outside the cluster, as a public address is.
pub fn pseudo_is_sensitive(p: &crate::model::Pseudo) -> bool {
    use crate::model::Pseudo;
    match p {
        Pseudo::Fqdn(_) => true,
        Pseudo::Entity(e) => matches!(e.as_str(), "kube-apiserver" | "host" | "remote-node"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortSet, Protocol};

    #[test]
    fn counts_and_connections() {
        assert_eq!(plural(1, "path", "paths"), "1 path");
        assert_eq!(plural(0, "path", "paths"), "0 paths");
        assert_eq!(conn_text(&ConnSet::all()), "all ports");
        let mut c = ConnSet::of(Protocol::Tcp, PortSet::range(80, 81));
        c.add(Protocol::Udp, &PortSet::all());
        assert_eq!(conn_text(&c), "TCP 80-81 · UDP all");
    }
}
