"""The public precinct page's sentences: games of chance told from the recorded outcome (kind, the tied
groups, those chosen), corrections told as what changed; hand-written expectations."""

from __future__ import annotations

from caucus.web.public.wording import chance_sentences, correction_sentence, ordinal


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"]


def test_a_toss_for_the_last_delegate() -> None:
    # RULES.md-style: D = 4, Alvarez 7, Baker 7, Chen 6 of 20: rounding gives 1, 1, 1 and the 4th delegate is tied
    record = {"delegatesToElect": 4, "chance": [{"kind": "gain", "among": ["Alvarez", "Baker"],
                                                 "selected": ["Alvarez"]}]}
    assert chance_sentences(record) == ["Alvarez won a game of chance against Baker for the 4th delegate."]


def test_two_spare_delegates_among_three() -> None:
    record = {"delegatesToElect": 7, "chance": [{"kind": "gain", "among": ["A", "B", "C"], "selected": ["A", "C"]}]}
    assert chance_sentences(record) == ["A and C won a game of chance against B for the 6th and 7th delegates."]


def test_a_delegate_given_back_and_a_group_dropped() -> None:
    # Adair 1 NW (2020): Buttigieg lost the toss with Klobuchar for the delegate too many
    lose = {"delegatesToElect": 8, "chance": [{"kind": "lose", "among": ["Buttigieg", "Klobuchar"],
                                               "selected": ["Buttigieg"]}]}
    assert chance_sentences(lose) == ["Buttigieg lost a game of chance against Klobuchar and gave a delegate back: "
                                      "rounding had awarded more delegates than the 8 the precinct elects."]
    # Bremer, Readlyn (2020, RULES.md R14): 5 viable groups for 4 delegates, Sanders and Warren tied smallest
    drop = {"delegatesToElect": 4, "chance": [{"kind": "drop", "among": ["Sanders", "Warren"],
                                               "selected": ["Sanders"]}]}
    assert chance_sentences(drop) == ["Sanders lost a game of chance against Warren and was dropped: the precinct "
                                      "had more viable groups than its 4 delegates."]


def test_no_game_no_sentence() -> None:
    assert chance_sentences({"delegatesToElect": 4, "chance": []}) == []


def test_corrections_say_what_changed() -> None:
    first = {"stage": "first", "seq": 101, "supersedes": 90, "channel": "hq-review", "by": "reviewer",
             "before": {"Bennet": 1, "Other": 3, "Warren": 115}, "after": {"Bennet": 2, "Other": 2, "Warren": 115}}
    assert correction_sentence(first, "Mon 3 Feb 2020, 7:46:40 pm CST") == (
        "The first alignment was corrected through the HQ review (by a reviewer) on Mon 3 Feb 2020, 7:46:40 pm CST "
        "(entry #101, replacing #90): Bennet 1 → 2, Other 3 → 2.")
    attendance = {"stage": "attendance", "seq": 7, "supersedes": 3, "channel": "app", "by": "precinct chair",
                  "before": 328, "after": 238}
    assert correction_sentence(attendance, "then") == (
        "The attendance was corrected through the chair's app (by the precinct chair) on then "
        "(entry #7, replacing #3): attendance 328 → 238.")
    same = {**attendance, "after": 328}
    assert correction_sentence(same, "then").endswith(": no number changed.")
