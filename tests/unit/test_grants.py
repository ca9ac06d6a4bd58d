from mapping.grants import granted_roles, missing_database_select, parse_grant, visible_parts

LINES = [
    "GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*ABC'",
    "GRANT SELECT ON `tiny`.`a` TO `reader`@`%`",
    "GRANT SELECT (`id`, `pub`), INSERT ON `tiny`.`colpriv` TO `reader`@`%`",
    "GRANT SELECT, SHOW VIEW ON `shop`.* TO `reader`@`%`",
    "GRANT ALL PRIVILEGES ON `arch\\_%`.* TO `reader`@`%`",
    "GRANT `analyst`, `etl` TO `reader`@`%`",
]


def grants():
    return [g for g in (parse_grant(line) for line in LINES) if g is not None]


def test_database_select_comes_from_a_database_or_global_grant_only():
    assert missing_database_select(grants(), ["shop", "tiny", "arch_2024", "archX2024"]) == ["tiny", "archX2024"]
    everything = [parse_grant("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION")]
    assert missing_database_select(everything, ["tiny"]) == []
    insert_only = [parse_grant("GRANT INSERT ON `tiny`.* TO `w`@`%`")]
    assert missing_database_select(insert_only, ["tiny"]) == ["tiny"]


def test_table_and_column_grants_say_what_can_be_seen():
    assert visible_parts(grants(), "tiny") == ["a", "colpriv (columns id, pub only)"]


def test_role_grants_are_named_so_their_own_grants_can_be_read():
    assert granted_roles(LINES[-1]) == ["`analyst`", "`etl`"]
    assert granted_roles("GRANT `r1`@`%` TO `u`@`%`") == ["`r1`@`%`"]  # MySQL 8
    assert granted_roles(LINES[1]) == []
    assert parse_grant(LINES[-1]) is None
