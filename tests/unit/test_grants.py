from mapping.grants import (
    PARTIAL,
    UNDECIDED,
    WHOLE,
    inactive_roles,
    parse_grant,
    probe_verdict,
    unseen_line,
    visible_parts,
)

LINES = [
    "GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*ABC'",
    "GRANT SELECT ON `tiny`.`a` TO `reader`@`%`",
    "GRANT SELECT (`id`, `pub`), INSERT ON `tiny`.`colpriv` TO `reader`@`%`",
    "GRANT SELECT, SHOW VIEW ON `shop`.* TO `reader`@`%`",
    "GRANT `analyst`, `etl` TO `reader`@`%`",
]


def test_the_servers_answer_to_an_absent_table_decides():
    assert probe_verdict(1146) == WHOLE  # "doesn't exist": SELECT on the whole database
    assert probe_verdict(1142) == PARTIAL  # "SELECT command denied": some tables at most
    assert probe_verdict(1044) == PARTIAL
    assert probe_verdict(None) == UNDECIDED and probe_verdict(2013) == UNDECIDED


def test_table_and_column_grants_say_what_can_be_seen():
    grants = [g for g in (parse_grant(line) for line in LINES) if g is not None]
    assert visible_parts(grants, "tiny") == ["a", "colpriv (columns id, pub only)"]
    assert parse_grant(LINES[-1]) is None  # a role grant grants no object


def test_roles_granted_but_not_active_are_named_with_the_fix():
    applicable = [("u5@%", "r_outer"), ("r_outer", "r_all"), ("u5@%", "r_on")]
    assert inactive_roles(applicable, ["r_on"]) == ["r_outer"]  # r_all is r_outer's, not the user's
    line = unseen_line("pv", PARTIAL, [], ["r_outer"], "1142: SELECT command denied")
    assert line.startswith("database 'pv': the server does not give the user SELECT on `pv`.* as a whole")
    assert "SET DEFAULT ROLE r_outer FOR the job's user" in line and "\n" not in line
    assert "could not decide" in unseen_line("pv", UNDECIDED, [], [], "2013: lost connection")
