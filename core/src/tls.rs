//! The TLS client configuration every connection of mailwright uses (SMTP submission, MX
//! delivery, IMAP): rustls with the `ring` provider, the system's roots plus an optional CA
//! file, or (tests only) no certificate check at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why no TLS configuration could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TlsError {
    /// rustls refused the protocol versions (a build without TLS 1.2 and 1.3).
    #[error("TLS setup failed: {0}")]
    Setup(rustls::Error),
    /// The CA file could not be read or holds no usable certificate.
    #[error("CA file {path}: {detail}; give a PEM file with the CA's certificate")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

/// A rustls client configuration: the system's roots plus `ca_file`, or with `insecure` no
/// verification of the certificate at all (signatures are still checked).
pub(crate) fn client_config(ca_file: Option<&Path>, insecure: bool) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?;
    if insecure {
        return Ok(Arc::new(
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider))).with_no_client_auth(),
        ));
    }
    Ok(Arc::new(builder.with_root_certificates(roots(ca_file)?).with_no_client_auth()))
}

/// The system's roots plus every certificate of `ca_file`.
pub(crate) fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        add_ca_file(&mut roots, path)?;
    }
    Ok(roots)
}

/// Adds every certificate of the PEM file at `path`; an error when there is none.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsError> {
    let bad = |detail: String| TlsError::CaFile { path: path.to_path_buf(), detail };
    let mut n = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(format!("cannot read it: {e}")))? {
        let cert = cert.map_err(|e| bad(format!("bad certificate: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("unusable certificate: {e}")))?;
        n += 1;
    }
    if n == 0 {
        return Err(bad("no certificate found".into()));
    }
    Ok(())
}

/// Accepts any certificate (the insecure option): signatures are still checked.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
