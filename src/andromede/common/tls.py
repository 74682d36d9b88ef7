"""The installation's own CA and server certificate, made on first start and kept in the data dir."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from andromede.common.files import write_atomically


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_certificates(tls_dir: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """Return (ca_cert, server_cert, server_key), creating whatever is missing."""
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_cert_path, ca_key_path = tls_dir / "ca.pem", tls_dir / "ca-key.pem"
    cert_path, key_path = tls_dir / "server.pem", tls_dir / "server-key.pem"
    now = dt.datetime.now(dt.UTC)

    if not ca_cert_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Andromede"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"Andromede CA {socket.gethostname()}")])
        ca_cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_atomically(ca_key_path, _key_pem(ca_key))
        write_atomically(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        cert_path.unlink(missing_ok=True)

    wanted = sorted(set(hosts) | {"localhost", "127.0.0.1", "::1"})
    if cert_path.exists():
        existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = existing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {str(v) for v in names.get_values_for_type(x509.DNSName)}
        have |= {str(v) for v in names.get_values_for_type(x509.IPAddress)}
        if set(wanted) <= have and existing.not_valid_after_utc > now + dt.timedelta(days=30):
            return ca_cert_path, cert_path, key_path

    issuer_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not the elliptic-curve key this installation's CA is made with")
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for host in wanted:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    write_atomically(key_path, _key_pem(key))
    write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return ca_cert_path, cert_path, key_path
