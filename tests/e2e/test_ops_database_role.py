"""The role the stages log in as. OPERATIONS.md's own example connects as a role named
tinydevcrm, the name of the product's schema. PostgreSQL's default search_path is
("$user", public), so for that role unqualified names resolve in schema tinydevcrm first:
uploaded tables must still land in public, and an upload must never reach the catalog."""
import pytest

from conftest import CASES, System, psql, server_url

ROLE = "tinydevcrm"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    psql(server_url(), f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
            CREATE ROLE {ROLE};
        END IF; END $$""")
    psql(server_url(), f"ALTER ROLE {ROLE} LOGIN CREATEDB CREATEROLE")
    # The later user= wins in a conninfo: the database is made by, and owned by, the role.
    running = System(tmp_path_factory.mktemp("system"), f"{server_url()} user={ROLE}")
    yield running
    running.stop()


def schema_of(system, relation):
    return system.query("SELECT relnamespace::regnamespace FROM pg_class "
                        f"WHERE relname = '{relation}' ORDER BY 1")


def test_uploaded_tables_and_their_views_land_in_public(system):
    status, reply = system.upload(CASES / "reference.csv")

    assert status == 201, reply
    assert reply["views"][0]["created"], reply
    assert schema_of(system, "reference") == ["public"]
    assert schema_of(system, "reference_current_second") == ["public"]


def test_an_upload_named_like_a_catalog_table_leaves_the_catalog_alone(system):
    status, reply = system.upload(CASES / "reference.csv", "table=events", "mode=replace")

    assert status == 201, reply
    assert schema_of(system, "events") == ["public", "tinydevcrm"]
    assert system.query("SELECT count(*) FROM information_schema.columns "
                        "WHERE table_schema = 'tinydevcrm' AND table_name = 'events' "
                        "AND column_name = 'payload'") == ["1"]
