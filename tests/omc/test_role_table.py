"""Issue 14 item 4: the README's role table says what the server enforces (`GRANTS`)."""

from __future__ import annotations

from gateway.omc.roles import GRANTS, Perm, Role
from tests.paths import REPO_ROOT

HEADER = "| permission | operator | agency-officer | auditor | admin |"


def _readme_grants() -> dict[Role, set[Perm]]:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    roles = [Role(cell.strip()) for cell in HEADER.strip("|").split("|")[1:]]
    granted: dict[Role, set[Perm]] = {role: set() for role in roles}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        perm = Perm(first.split("`")[1])
        for role, cell in zip(roles, cells, strict=True):
            if cell != "—":
                granted[role].add(perm)
    return granted


def test_the_readme_role_table_is_the_code_s() -> None:
    assert _readme_grants() == {role: set(perms) for role, perms in GRANTS.items()}


def test_the_table_has_a_row_for_every_permission_and_a_column_for_every_role() -> None:
    table = _readme_grants()
    assert set(table) == set(Role)
    assert set().union(*table.values()) == set(Perm)
