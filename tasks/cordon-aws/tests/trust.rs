//! The functions' trust store: Amazon Trust Services' roots and Starfield's services root,
//! each a readable self-signed certificate that rustls accepts as a trust anchor, and
//! nothing else.
use cordon_aws::trust::AWS_ROOTS;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

#[test]
fn the_functions_trust_the_five_roots_of_aws_endpoints_and_nothing_else() {
    let mut store = RootCertStore::empty();
    for (name, pem) in AWS_ROOTS {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: not PEM: {e:?}"));
        assert_eq!(certs.len(), 1, "{name}: one certificate per file");
        store
            .add(certs[0].clone())
            .unwrap_or_else(|e| panic!("{name}: not a usable trust anchor: {e}"));
        let anchor = store.roots.last().expect("just added");
        let subject: &[u8] = anchor.subject.as_ref();
        assert!(
            subject.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name}: the certificate's subject does not name it"
        );
    }
    assert_eq!(store.len(), AWS_ROOTS.len(), "five distinct roots");
}
