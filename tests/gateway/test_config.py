"""Settings come from SITEGATE_* variables, flags win, and a bad value is one clear error."""

from __future__ import annotations

import ipaddress
import pwd
from pathlib import Path

import pytest

from gateway.config import ConfigError, Mode, load_settings


def test_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings.port == 3000
    assert settings.mode is Mode.PRODUCTION
    assert settings.backend_url == "http://127.0.0.1:8000"
    assert ipaddress.ip_address("127.0.0.1") in settings.trusted_proxies[0]
    assert (settings.shared_dir / "..").resolve().name == "shared"


def test_environment_is_read_and_flags_win() -> None:
    environ = {
        "SITEGATE_PORT": "8080",
        "SITEGATE_MODE": "Development",
        "SITEGATE_SITES_DIR": "/srv/sites",
        "SITEGATE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
        "SITEGATE_BACKEND_URL": "http://backend:8000/",
    }
    settings = load_settings(environ, overrides={"PORT": "9000", "HOST": None})
    assert settings.port == 9000
    assert settings.dev
    assert settings.sites_dir == Path("/srv/sites")
    assert settings.backend_url == "http://backend:8000"
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.168.1.1/32"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SITEGATE_PORT", "seventy"),
        ("SITEGATE_PORT", "70000"),
        ("SITEGATE_MODE", "staging"),
        ("SITEGATE_BACKEND_URL", "ftp://x"),
        ("SITEGATE_TRUSTED_PROXIES", "10.0.0.300/8"),
        ("SITEGATE_KEEP_BUILDS", "0"),
        ("SITEGATE_PROXY_READ_TIMEOUT", "-1"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert name in str(caught.value) and value in str(caught.value)


def test_limits_are_read_from_the_environment() -> None:
    settings = load_settings(
        {
            "SITEGATE_HEADER_TIMEOUT": "2.5",
            "SITEGATE_MAX_HEADER_BYTES": "4096",
            "SITEGATE_MAX_HEADERS": "50",
            "SITEGATE_MAX_API_BODY_BYTES": "1048576",
            "SITEGATE_BODY_TIMEOUT": "5",
            "SITEGATE_MAX_CONNECTIONS": "200",
        }
    )
    limits = (settings.header_timeout, settings.max_header_bytes, settings.max_headers)
    assert limits == (2.5, 4096, 50)
    assert (settings.max_api_body_bytes, settings.body_timeout, settings.max_connections) == (1048576, 5.0, 200)
    with pytest.raises(ConfigError, match="SITEGATE_MAX_CONNECTIONS"):
        load_settings({"SITEGATE_MAX_CONNECTIONS": "0"})


def test_the_build_user_is_read_by_name_and_root_keeps_builds_as_root() -> None:
    nobody = load_settings({"SITEGATE_BUILD_USER": "nobody"}).build_user
    assert nobody is not None and (nobody.name, nobody.uid) == ("nobody", pwd.getpwnam("nobody").pw_uid)
    assert load_settings({"SITEGATE_BUILD_USER": "root"}).build_user is None
    with pytest.raises(ConfigError, match="SITEGATE_BUILD_USER='no-such-user': no such user"):
        load_settings({"SITEGATE_BUILD_USER": "no-such-user"})


def test_the_log_format_is_text_or_json() -> None:
    assert load_settings({}).log_format == "text"
    assert load_settings({"SITEGATE_LOG_FORMAT": "JSON"}).log_format == "json"
    assert load_settings({"SITEGATE_LOG_FORMAT": "json"}, overrides={"LOG_FORMAT": "text"}).log_format == "text"
    with pytest.raises(ConfigError, match="SITEGATE_LOG_FORMAT='xml': must be 'text' or 'json'"):
        load_settings({"SITEGATE_LOG_FORMAT": "xml"})


CLUSTER = {"SITEGATE_BUILD_STORE": "s3://builds/sites", "SITEGATE_CLUSTER_DB": "mongodb://db:27017/sitegate"}


def test_without_a_store_and_a_database_the_gateway_is_one_host() -> None:
    assert load_settings({}).cluster is None


def test_a_cluster_is_read_with_the_aws_names_every_s3_tool_reads() -> None:
    environ = {
        **CLUSTER,
        "SITEGATE_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "SITEGATE_CACHE_MAX_BYTES": "20G",
        "SITEGATE_HOST_ID": "web-2",
    }
    cluster = load_settings(environ).cluster
    assert cluster is not None
    assert (cluster.store_url, cluster.db_url) == ("s3://builds/sites", "mongodb://db:27017/sitegate")
    assert (cluster.s3_endpoint_url, cluster.s3_region, cluster.host_id) == ("http://minio:9000", "eu-west-1", "web-2")
    assert cluster.cache_max_bytes == 20 * 1024**3
    assert "secret" not in repr(cluster)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SITEGATE_BUILD_STORE": "s3://builds"}, "SITEGATE_CLUSTER_DB is not set"),
        ({"SITEGATE_CLUSTER_DB": "mongodb://db"}, "SITEGATE_BUILD_STORE is not set"),
        ({**CLUSTER, "SITEGATE_BUILD_STORE": "https://builds"}, "SITEGATE_BUILD_STORE='https://builds': must be s3://"),
        ({**CLUSTER, "SITEGATE_CLUSTER_DB": "db:27017"}, "must be a mongodb://"),
        ({**CLUSTER, "SITEGATE_CACHE_MAX_BYTES": "lots"}, "must be a size in bytes"),
        ({**CLUSTER, "SITEGATE_CLUSTER_LEASE_SECONDS": "0"}, "must be greater than 0"),
        ({**CLUSTER, "AWS_SECRET_ACCESS_KEY": " "}, "AWS_SECRET_ACCESS_KEY=…"),
    ],
)
def test_a_half_or_wrong_cluster_is_one_clear_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
