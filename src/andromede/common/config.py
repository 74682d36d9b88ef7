"""Installation settings: one pydantic-settings model, read from flags and ANDROMEDE_* variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "andromede"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANDROMEDE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    listen_host: str = "127.0.0.1"
    listen_port: int = 5000
    # Where clients reach us; derived from the listener when empty.
    public_url: str = ""
    database_url: str = ""
    insecure_http: bool = False
    region: str = "RegionOne"
    # On every start make sure the public `tiny` guest image exists ("skip" for API-only test servers).
    tiny_image: str = "ensure"
    guest_cache_dir: str = ""
    # The all-in-one server runs a host agent for this machine: qemu (real VMs), fake, or none.
    agent_driver: str = "qemu"
    host_name: str = ""
    # The host whose agent runs DHCP servers, routers and access to external networks (default: this one).
    network_host: str = ""
    # The external network `public` made on first start ("" to make none); the host is its gateway (.1).
    public_network_cidr: str = "172.24.4.0/24"

    token_expiration_s: int = 3600
    receipt_expiration_s: int = 300
    token_key_rotation_s: int = 24 * 3600
    password_min_length: int = 10
    password_max_bytes: int = 4096
    # Failed logins are throttled per (account, client address): once an address has failed
    # `login_throttle_free_failures` times for one account, its next attempts for that account are refused
    # (429) for login_throttle_delay_s, doubling with each further failure up to the cap. Other addresses,
    # and so the account's owner, are not affected. Failures older than login_throttle_reset_s are forgotten.
    login_throttle_free_failures: int = 3
    login_throttle_delay_s: float = 2.0
    login_throttle_max_delay_s: float = 900.0
    login_throttle_reset_s: float = 3600.0
    # Keystone's [security_compliance] lockout, opt-in: after this many failures from anywhere the account
    # refuses even its right password for lockout_duration_s (until an admin re-enables it). Off when unset,
    # since anyone who knows a user name could otherwise lock that user out.
    lockout_failure_attempts: int | None = None
    lockout_duration_s: int = 1800
    # Logins checking a secret (argon2 for passwords and application credentials; TOTP) one API process runs
    # at once (0: one per CPU) and how many more may wait; past that a login is answered 429 at once.
    auth_hash_concurrency: int = 0
    auth_hash_queue: int = 8
    # Addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (comma-separated).
    # Empty: the client is the socket peer, whatever the headers say.
    trusted_proxies: str = ""
    # Interactive logins (password, TOTP) of users holding the admin role need password+TOTP.
    admin_mfa_required: bool = True
    max_json_body_bytes: int = 112 * 1024
    # Give every server a config drive even when it does not ask (Nova's option); the metadata service
    # at 169.254.169.254 serves the same content to servers on a network.
    force_config_drive: bool = False
    # Nova's enable_instance_password: POST /servers answers the server's adminPass (random unless given).
    enable_instance_password: bool = True
    image_size_cap_bytes: int = 64 * 1024**3
    # Refuse images whose disk would be bigger than this once expanded (a qcow2 can claim 2^60 bytes).
    image_virtual_size_cap_bytes: int = 2 * 1024**4
    # Per-project image quotas, named after Glance's unified limits (-1 = unlimited). Glance counts
    # image_size_total in MiB; here it is bytes, like Glance's older user_storage_quota.
    image_count_total: int = 100
    image_count_uploading: int = 10
    image_size_total_bytes: int = 100 * 1024**3
    # Per image, as Glance's image_property_quota and image_tag_quota; plus a bound of our own on the
    # properties' total size (keys and values), so that listing many images stays light.
    image_property_quota: int = 128
    image_tag_quota: int = 128
    image_member_quota: int = 128
    image_properties_total_bytes: int = 64 * 1024
    # How often a server re-reads the identity generation written by other server processes.
    cache_check_interval_s: float = 1.0
    # The key manager's master KEK: "file" (a 0600 file in the data dir, made at first start) or "pkcs11" (a
    # non-extractable AES key in a token: the module's path, the token's label or slot, and a 0600 file holding
    # the user PIN).
    kms_master_key: str = "file"
    kms_pkcs11_module: str = ""
    kms_pkcs11_token_label: str = ""
    kms_pkcs11_slot: int | None = None
    kms_pkcs11_pin_file: str = ""
    kms_pkcs11_key_label: str = "andromede-master-kek"
    # Barbican's max_allowed_secret_in_bytes.
    kms_max_secret_bytes: int = 10000
    # Tests turn this on: a route that enforced no policy answers 500 so the test fails loudly.
    policy_strict: bool = False

    @property
    def this_host(self) -> str:
        return self.host_name or socket.gethostname()

    @property
    def the_network_host(self) -> str:
        return self.network_host or self.this_host

    @property
    def scheme(self) -> str:
        return "http" if self.insecure_http else "https"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.listen_host if ":" not in self.listen_host else f"[{self.listen_host}]"
        return f"{self.scheme}://{host}:{self.listen_port}"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'andromede.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"
