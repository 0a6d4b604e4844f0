"""Envelope encryption of dead-letter bodies and the masked copy operators see."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.keyvault.keys import JsonWebKey
from azure.keyvault.keys.crypto import CryptographyClient
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.pipeline.dead_letters import DeadLetter, ReasonCode
from shared.pipeline.masking import MASKED_PREVIEW_CHARS, mask_personal
from shared.pipeline.sealing import AesKeyWrap, BodySealer, SealError, local_key_file
from shared.stores.key_vault_keys import KeyVaultKeyWrapper

BODY = b'{"event_id": "txn-1", "customer_id": "CUST-4711", "account_id": "ACC-9", "amount": 30.45}'


def test_a_sealed_body_opens_exactly_and_only_for_its_letter(tmp_path: Path) -> None:
    sealer = BodySealer(local_key_file(tmp_path / "k"))
    sealed = sealer.seal(BODY, "txn:0:1")
    assert b"CUST-4711" not in base64.b64decode(sealed["ciphertext"])
    assert sealer.open(sealed, "txn:0:1") == BODY
    with pytest.raises(SealError, match="another dead letter"):
        sealer.open(sealed, "txn:0:2")
    raw = base64.b64decode(sealed["ciphertext"])  # one bit flipped: always a change (a byte set to "x" was 1 in 256)
    tampered = dict(sealed, ciphertext=base64.b64encode(bytes([raw[0] ^ 0x01]) + raw[1:]).decode())
    with pytest.raises(SealError):
        sealer.open(tampered, "txn:0:1")
    with pytest.raises(SealError, match="not a sealed body"):
        sealer.open({"alg": "A256GCM"}, "txn:0:1")


def test_the_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "pulse.db.dlq-key"
    first = BodySealer(local_key_file(path)).seal(BODY, "id")
    assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_bytes()) == 32
    assert BodySealer(local_key_file(path)).open(first, "id") == BODY  # another process, same file
    other = BodySealer(local_key_file(tmp_path / "other"))
    with pytest.raises(SealError, match="sealed with key file:"):
        other.open(first, "id")
    (tmp_path / "short").write_bytes(b"too short")
    with pytest.raises(SealError, match="exactly 32 bytes"):
        local_key_file(tmp_path / "short")


class CountingWrap(AesKeyWrap):
    def __init__(self) -> None:
        super().__init__(secrets.token_bytes(32), "counting")
        self.wraps = 0

    def wrap(self, data_key: bytes):  # type: ignore[no-untyped-def]
        self.wraps += 1
        return super().wrap(data_key)


def test_a_data_key_serves_max_uses_letters_then_rotates() -> None:
    wrapper = CountingWrap()
    sealer = BodySealer(wrapper, max_uses=3)
    sealed = [sealer.seal(BODY, f"id{i}") for i in range(7)]
    assert wrapper.wraps == 3 and len({s["wrapped_key"] for s in sealed}) == 3
    assert len({s["nonce"] for s in sealed}) == 7
    assert all(sealer.open(s, f"id{i}") == BODY for i, s in enumerate(sealed))


def test_the_key_vault_wrapper_wraps_with_rsa_oaep_256_and_refuses_foreign_keys() -> None:
    # The real SDK client, doing locally what Key Vault does remotely: the adapter's code path is the same.
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    numbers, public = private.private_numbers(), private.public_key().public_numbers()
    kid = "https://kv-pulse.vault.azure.net/keys/dead-letters/0a1b2c3d"

    def raw(value: int) -> bytes:
        return value.to_bytes((value.bit_length() + 7) // 8, "big")

    jwk = JsonWebKey(
        kid=kid, kty="RSA", key_ops=["wrapKey", "unwrapKey"], n=raw(public.n), e=raw(public.e), d=raw(numbers.d),
        p=raw(numbers.p), q=raw(numbers.q), dp=raw(numbers.dmp1), dq=raw(numbers.dmq1), qi=raw(numbers.iqmp),
    )  # fmt: skip
    asked: list[str] = []

    def client_for(key_id: str) -> CryptographyClient:
        asked.append(key_id)
        return CryptographyClient.from_jwk(jwk)

    wrapper = KeyVaultKeyWrapper("https://kv-pulse.vault.azure.net/keys/dead-letters", None, client_for)
    sealer = BodySealer(wrapper)
    sealed = sealer.seal(BODY, "txn:0:1")
    assert (sealed["kek"], sealed["kek_alg"]) == (kid, "RSA-OAEP-256")
    assert BodySealer(wrapper).open(sealed, "txn:0:1") == BODY
    assert asked == ["https://kv-pulse.vault.azure.net/keys/dead-letters", kid]
    foreign = dict(sealed, kek="https://evil.vault.azure.net/keys/dead-letters/1")
    with pytest.raises(SealError, match="not a version of"):
        BodySealer(wrapper).open(foreign, "txn:0:1")


@pytest.mark.parametrize(
    ("body", "masked"),
    [
        (BODY, '{"event_id": "txn-1", "customer_id": "***", "account_id": "***", "amount": 30.45}'),
        (b'{"customer_id":"C-1\\"x","n":1}', '{"customer_id":"***","n":1}'),
        (b'{"customer_id": 12345, "x": null}', '{"customer_id": "***", "x": null}'),
        (b'{"customer_id": "CUST-47', '{"customer_id": "***"'),  # cut off inside the value
        (b'{"customer_id":null}', '{"customer_id":"***"}'),
        (b"\xff\xfe not utf-8", "\ufffd\ufffd not utf-8"),
    ],
)
def test_personal_fields_are_masked_whatever_the_shape(body: bytes, masked: str) -> None:
    assert mask_personal(body) == masked


def test_the_masked_preview_is_cut() -> None:
    text = mask_personal(b"x" * (MASKED_PREVIEW_CHARS + 10))
    assert text.endswith("... (10 more characters)") and len(text) < MASKED_PREVIEW_CHARS + 40


def test_a_stored_letter_has_the_body_sealed_and_masked_only(tmp_path: Path) -> None:
    sealer = BodySealer(local_key_file(tmp_path / "k"))
    letter = DeadLetter("txn", ReasonCode.UNKNOWN_CURRENCY, "no rate", BODY, "0", 5, "20480", datetime.now(UTC))
    doc = letter.to_document(sealer)
    assert "CUST-4711" not in str(doc) and "ACC-9" not in str(doc) and "raw_b64" not in doc
    assert doc["body_bytes"] == len(BODY)
    assert DeadLetter.from_document(doc, sealer) == letter
