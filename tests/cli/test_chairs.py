"""``caucus chairs import | list | set | remove`` on a real SQLite file and a party's own plan: a roster CSV
checked line by line (exit 2 naming line, column and rule; nothing imported), the election chosen or listed."""

from __future__ import annotations

from pathlib import Path

from tests.cli.support import db_url, ok, run, write_example_plan


def test_a_roster_is_imported_listed_and_edited(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    ok("init", "example", "--plan", write_example_plan(tmp_path / "plan"), "--database", url)
    roster = tmp_path / "roster.csv"
    roster.write_text("precinct,name,phone,email\n"
                      "north/1,Avery Stone,555-201-0101,avery@example.org\n"
                      "North/2,Blair Quinn,(555) 201-0102,\n"
                      "Satellite/9001,Casey Lund,+1 555 201 0103,casey@example.org\n", encoding="utf-8")
    imported = ok("chairs", "import", roster, "--database", url)
    assert imported.stdout == "imported roster.csv into example: 3 added, 0 changed, 0 unchanged\n"
    listed = ok("chairs", "list", "--database", url)
    assert listed.stdout.splitlines() == [
        "North/1\tAvery Stone\t555-201-0101\tavery@example.org",
        "North/2\tBlair Quinn\t(555) 201-0102\t",
        "Satellite/9001\tCasey Lund\t+1 555 201 0103\tcasey@example.org",
    ]
    ok("chairs", "set", "south/1", "--name", "Dana Ruiz", "--phone", "555 201 0104", "--database", url)
    ok("chairs", "remove", "North/2", "--database", url)
    assert [line.split("\t")[0] for line in ok("chairs", "list", "--database", url).stdout.splitlines()] == [
        "North/1", "South/1", "Satellite/9001"]
    bad = run("chairs", "set", "South/1", "--name", "Dana Ruiz", "--phone", "555", "--database", url)
    assert bad.exit_code == 2 and "'555' has 3 digits; a phone number has 7 to 15" in bad.stderr
    log = ok("log", "example", "--json", "--database", url).stdout
    assert log.count('"action": "roster.import"') == 1 and log.count('"action": "roster.set"') == 1
    assert log.count('"action": "roster.remove"') == 1


def test_a_bad_roster_file_names_every_bad_line_and_changes_nothing(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    ok("init", "example", "--plan", write_example_plan(tmp_path / "plan"), "--database", url)
    roster = tmp_path / "chairs.csv"
    roster.write_text("precinct,name,phone\n"
                      "North/1,Avery Stone,555-201-0101\n"
                      "East/4,Eli Park,555-201-0105\n"
                      "North/1,Avery Stone,555-201-0101\n"
                      "South/1,,\n", encoding="utf-8")
    result = run("chairs", "import", roster, "--database", url)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: chairs.csv: 4 problems, nothing imported:",
        "chairs.csv line 3, column precinct: no precinct 'East/4' in election example (codes look like North/1)",
        "chairs.csv line 4, column precinct: North/1 is already on line 2; a precinct has one chair",
        "chairs.csv line 5, column name: the chair's name is required",
        "chairs.csv line 5, column phone: the chair's phone number is required (HQ phones chairs who have not "
        "signed in)",
    ]
    assert ok("chairs", "list", "--database", url).stdout == ""
    missing = run("chairs", "import", tmp_path / "nope.csv", "--database", url)
    assert missing.exit_code == 2 and "cannot read the roster file" in missing.stderr


def test_with_several_elections_the_roster_names_its_election(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    plan = write_example_plan(tmp_path / "plan")
    ok("init", "rehearsal", "--plan", plan, "--database", url)
    ok("init", "night", "--plan", plan, "--database", url)
    roster = tmp_path / "roster.csv"
    roster.write_text("precinct,name,phone\nNorth/1,Avery Stone,555-201-0101\n", encoding="utf-8")
    unsure = run("chairs", "import", roster, "--database", url)
    assert unsure.exit_code == 2
    assert "this database has 2 elections: rehearsal, night; choose one with --election SLUG" in unsure.stderr
    ok("chairs", "import", roster, "--election", "night", "--database", url)
    assert ok("chairs", "list", "--election", "night", "--database", url).stdout.startswith("North/1\t")
    assert ok("chairs", "list", "--election", "rehearsal", "--database", url).stdout == ""
    wrong = run("chairs", "list", "--election", "nope", "--database", url)
    assert wrong.exit_code == 2 and "no election with slug 'nope' in this database; it has rehearsal, night" \
        in wrong.stderr
