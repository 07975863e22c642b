"""audit against the DNS of scripts/mail-servers (scripts/audit-zones): the correct domain
passes, a broken one fails where it is broken, bad options are refused."""

from __future__ import annotations

import pytest

import mailwright
from conftest import need_server

RESOLVER = "127.0.0.1:5353"
CA = "/etc/mailwright-test/tls/ca.pem"


def test_audit_reports_every_check_with_its_evidence() -> None:
    need_server("127.0.0.1", 5353, "dnsmasq")
    need_server("127.0.5.1", 53, "the audit name servers")
    good = mailwright.audit("good.audit.test", resolvers=[RESOLVER], no_probe=True, timeout=2.0)
    assert good["exit_code"] == 0, good
    assert {c["status"] for c in good["checks"]} == {"pass"}
    assert {"ns.serial", "mx.networks", "spf.lookups"} <= {c["id"] for c in good["checks"]}
    broken = mailwright.audit("samenet.audit.test", resolvers=[RESOLVER], no_probe=True, timeout=2.0)
    assert broken["exit_code"] == 2
    nets = next(c for c in broken["checks"] if c["id"] == "mx.networks")
    assert nets["status"] == "fail" and any("127.0.7.0/24" in e for e in nets["evidence"]), nets


def test_audit_probes_the_servers() -> None:
    need_server("127.0.0.1", 5353, "dnsmasq")
    need_server("127.0.7.250", 443, "the audit test servers")
    good = mailwright.audit("good.audit.test", resolvers=[RESOLVER], ca_file=CA, timeout=3.0)
    assert good["exit_code"] == 0, good
    assert len(good["checks"]) == 24 and {c["status"] for c in good["checks"]} == {"pass"}, good
    relay = mailwright.audit("openrelay.audit.test", resolvers=[RESOLVER], ca_file=CA, timeout=3.0)
    assert relay["exit_code"] == 2
    failed = [c["id"] for c in relay["checks"] if c["status"] != "pass"]
    assert failed == ["mx.open_relay"], relay


def test_audit_refuses_what_is_not_a_domain_or_a_timeout() -> None:
    with pytest.raises(ValueError):
        mailwright.audit("not a domain")
    with pytest.raises(ValueError):
        mailwright.audit("example.org", timeout=0)
    with pytest.raises(ValueError):
        mailwright.audit("example.org", resolvers=["nowhere"])
    with pytest.raises(ValueError):
        mailwright.audit("example.org", ca_file="/nonexistent/ca.pem")
