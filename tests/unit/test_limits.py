from mapping.limits import read_bound


def test_half_of_the_free_connections_at_most_sixteen():
    assert read_bound(0, 20, 2, 0) == (
        9,
        "half of the 18 connections free (max_connections 20, 2 connected), at most 16",
    )
    assert read_bound(0, 151, 10, 0)[0] == 16  # MySQL's default max_connections: the fixed ceiling
    assert read_bound(0, 5000, 40, 0)[0] == 16


def test_never_zero_even_on_a_full_server():
    assert read_bound(0, 20, 20, 0)[0] == 1  # and a refused connection is retried with backoff
    assert read_bound(0, 20, 25, 0)[0] == 1


def test_a_per_user_limit_leaves_the_driver_its_connections():
    bound, why = read_bound(0, 500, 10, 6)
    assert bound == 4 and why.startswith("max_user_connections 6 less the driver's 2")


def test_a_configured_bound_is_taken_as_given_and_says_what_the_server_has():
    assert read_bound(40, 20, 2, 0) == (40, "mysql.max_concurrent_reads 40 (max_connections 20, 2 connected)")
