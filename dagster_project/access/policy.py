"""The access policy: who may see which tier, for what purpose, and which feeds (docs/access.md).

One YAML file, read and checked whole on load, so a mistake in it refuses to start the service
with a sentence naming the field rather than granting or refusing something by surprise.
`authorise` turns a request (user, purpose, case or project) into a grant or a refusal that
says why; it is pure, so every rule has a unit test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

TIERS = ("level1", "level2", "level3")
# Each role and the highest tier it can hold: a checker may be given Level 2, to see the
# exports it reviews in their context; an admin (the data protection officer) Level 1; a
# reviewer Level 3, since the spines' review queues show both records whole.
ROLES = {"partner": "level1", "analyst": "level2", "practitioner": "level3",
         "checker": "level2", "admin": "level1", "dpo": "level1",
         "reviewer": "level3"}  # fmt: skip
REVIEWER = "reviewer"
REVIEW_PURPOSE = "clerical review"  # the review page's one purpose, implied by the role
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # users and projects: file names too
ALL = "all"
CASE_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$")


class PolicyError(ValueError):
    """The policy file is not valid: the message names the file and the field."""


class Denied(PermissionError):
    """A request the policy does not allow: the message says why, for the requester and the
    audit trail alike."""


@dataclass(frozen=True)
class Organisation:
    name: str
    title: str
    signed_isa: dt.date | None  # the day it signed the information sharing agreement
    sees: dict[str, frozenset[str]]  # tier -> feeds its users may see there


@dataclass(frozen=True)
class User:
    name: str
    organisation: str
    role: str
    tier: str  # the highest tier the user may reach


@dataclass(frozen=True)
class Project:
    name: str
    purpose: str
    tier: str
    users: frozenset[str]
    feeds: frozenset[str]
    ends: dt.date


@dataclass(frozen=True)
class Policy:
    organisations: dict[str, Organisation]
    users: dict[str, User]
    purposes: dict[str, frozenset[str]]  # tier -> purposes allowed there
    withheld: dict[str, frozenset[str]]  # tier -> feeds their agencies keep out of it
    projects: dict[str, Project]
    digest: str  # sha256 of the file, so the trail can say which policy decided


@dataclass(frozen=True)
class Request:
    user: str
    purpose: str
    case: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class Grant:
    user: User
    organisation: Organisation
    tier: str
    purpose: str
    case: str | None
    project: Project | None
    feeds: frozenset[str]  # the feeds whose rows the request may see


def tier_label(tier: str) -> str:
    return f"Level {tier[-1]}"


def authorise(policy: Policy, request: Request, today: dt.date) -> Grant:
    """The grant for a request, or Denied with the first rule it breaks. A case reference
    makes it a Level 3 request; a project, a request at the project's tier; else Level 1."""
    user = policy.users.get(request.user)
    if user is None:
        raise Denied(f"{request.user!r} is not a user of the access policy")
    org = policy.organisations[user.organisation]
    if request.case and request.project:
        raise Denied("a request is for a case (Level 3) or for a project, not both")
    project = None
    if request.case:
        tier = "level3"
        if not CASE_REFERENCE.match(request.case):
            raise Denied("a case reference is 1 to 64 letters, digits and / . _ -")
    elif request.project:
        project = policy.projects.get(request.project)
        if project is None:
            raise Denied(f"there is no project {request.project!r}")
        tier = project.tier
    else:
        tier = "level1"
    if not request.case and request.purpose in policy.purposes["level3"]:
        raise Denied(f"{request.purpose!r} is a Level 3 purpose: give its case reference (--case)")
    _within_tier(user, tier)
    _signed(org, tier)
    if user.role == REVIEWER and tier != "level1":
        # Level 3 is the reviewer's for the review queues, not for looking people up.
        raise Denied(
            f"{user.name} is a reviewer, who reaches Level 3 on the review page only "
            "(/review); a case or a project is for a practitioner or an analyst"
        )
    if request.purpose not in policy.purposes[tier]:
        allowed = ", ".join(sorted(policy.purposes[tier])) or "none"
        raise Denied(
            f"{request.purpose!r} is not a purpose allowed at {tier_label(tier)} "
            f"(allowed: {allowed})"
        )
    if tier == "level2" and project is None:
        raise Denied(
            "Level 2 is reached through a project (--project), so that each project sees "
            "pseudonyms of its own"
        )
    feeds = org.sees[tier] - policy.withheld[tier]
    if project:
        if user.name not in project.users:
            raise Denied(f"{user.name} is not an approved user of project {project.name}")
        if today > project.ends:
            raise Denied(f"project {project.name} ended on {project.ends.isoformat()}")
        if request.purpose != project.purpose:
            raise Denied(f"project {project.name}'s purpose is {project.purpose!r}")
        feeds &= project.feeds
    return Grant(user, org, tier, request.purpose, request.case, project, frozenset(feeds))


def authorise_review(policy: Policy, name: str) -> Grant:
    """The grant of the clerical review page (the spines' review queues, in Level 3), or
    Denied with the rule broken: the reviewer role only, at Level 3, of an organisation that
    has signed the agreement, over the feeds it sees there less those withheld."""
    user = policy.users.get(name)
    if user is None:
        raise Denied(f"{name!r} is not a user of the access policy")
    if user.role != REVIEWER:
        raise Denied(
            f"the review page is for users with the {REVIEWER} role; {user.name} is a {user.role}"
        )
    org = policy.organisations[user.organisation]
    _within_tier(user, "level3")
    _signed(org, "level3")
    feeds = org.sees["level3"] - policy.withheld["level3"]
    return Grant(user, org, "level3", REVIEW_PURPOSE, None, None, frozenset(feeds))


def _within_tier(user: User, tier: str) -> None:
    if TIERS.index(tier) > TIERS.index(user.tier):
        raise Denied(
            f"{user.name}'s highest tier is {tier_label(user.tier)}; this request needs "
            f"{tier_label(tier)}"
        )


def _signed(org: Organisation, tier: str) -> None:
    if tier != "level1" and org.signed_isa is None:
        raise Denied(
            f"{org.title} has not signed the information sharing agreement, so its users "
            "see Level 1 only"
        )


# --- loading and checking the file ---------------------------------------------------------


def load(path: Path, feeds: set[str]) -> Policy:
    """The policy at `path`, checked against itself and the hub's feeds."""
    if not path.exists():
        raise PolicyError(
            f"{path}: no access policy (HUB_POLICY names it; `hub access demo` writes a demo "
            "one; docs/access.md describes the format)"
        )
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise PolicyError(f"{path}: not valid YAML ({e})") from None
    checker = _Checker(path, feeds)
    return checker.policy(data, hashlib.sha256(raw).hexdigest())


class _Checker:
    """Reads the parsed YAML into a Policy, naming the file and field of the first mistake."""

    def __init__(self, path: Path, feeds: set[str]):
        self.path, self.feeds = path, feeds

    def fail(self, where: str, why: str):
        raise PolicyError(f"{self.path}: {where}: {why}")

    def mapping(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "expected a mapping of names to entries")
        return value

    def fields(self, entry, where: str, required: set[str], optional: set[str] = frozenset()):
        entry = self.mapping(entry, where)
        missing = required - set(entry)
        unknown = set(entry) - required - set(optional)
        if missing:
            self.fail(where, f"missing {', '.join(sorted(missing))}")
        if unknown:
            self.fail(where, f"unknown field {', '.join(sorted(unknown))}")
        return entry

    def named(self, name, where: str) -> None:
        if not isinstance(name, str) or not NAME.match(name):
            self.fail(where, "a name is 1 to 64 letters, digits and _ . - (it names files)")

    def one_of(self, value, allowed, where: str) -> str:
        if value not in allowed:
            self.fail(where, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def date(self, value, where: str) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(where, f"{value!r} is not a date (YYYY-MM-DD)")

    def feed_set(self, value, where: str) -> frozenset[str]:
        if value == ALL:
            return frozenset(self.feeds)
        if not isinstance(value, list):
            self.fail(where, f"expected '{ALL}' or a list of feeds")
        unknown = set(value) - self.feeds
        if unknown:
            self.fail(where, f"no feed {', '.join(sorted(unknown))} (see the feed contracts)")
        return frozenset(value)

    def tiers(self, value, where: str, each) -> dict[str, frozenset[str]]:
        value = self.mapping(value or {}, where)
        for tier in value:
            self.one_of(tier, TIERS, f"{where}.{tier}")
        return {t: each(value.get(t, []), f"{where}.{t}") for t in TIERS}

    def names(self, value, where: str) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(where, "expected a list of names")
        return frozenset(value)

    def policy(self, data, digest: str) -> Policy:
        data = self.fields(
            data, "the file", {"organisations", "users", "purposes"}, {"withheld", "projects"}
        )
        orgs = {}
        for name, entry in self.mapping(data["organisations"], "organisations").items():
            where = f"organisations.{name}"
            entry = self.fields(entry, where, {"name", "signed_isa"}, {"sees"})
            signed = entry["signed_isa"]
            sees = self.tiers(entry.get("sees"), f"{where}.sees", self.feed_set)
            if sees["level1"]:
                self.fail(f"{where}.sees.level1", "Level 1 is published to every partner whole")
            orgs[name] = Organisation(
                name,
                entry["name"],
                None if signed is None else self.date(signed, f"{where}.signed_isa"),
                sees | {"level1": frozenset(self.feeds)},
            )
        users = {}
        for name, entry in self.mapping(data["users"], "users").items():
            where = f"users.{name}"
            self.named(name, where)
            entry = self.fields(entry, where, {"organisation", "role", "tier"})
            self.one_of(entry["organisation"], list(orgs), f"{where}.organisation")
            role = self.one_of(entry["role"], list(ROLES), f"{where}.role")
            tier = self.one_of(entry["tier"], TIERS, f"{where}.tier")
            if TIERS.index(tier) > TIERS.index(ROLES[role]):
                self.fail(f"{where}.tier", f"a {role} reaches {ROLES[role]} at most")
            users[name] = User(name, entry["organisation"], role, tier)
        purposes = self.tiers(data["purposes"], "purposes", self.names)
        projects = {}
        for name, entry in self.mapping(data.get("projects") or {}, "projects").items():
            where = f"projects.{name}"
            self.named(name, where)
            entry = self.fields(entry, where, {"purpose", "tier", "users", "feeds", "ends"})
            tier = self.one_of(entry["tier"], TIERS[:2], f"{where}.tier")
            if entry["purpose"] not in purposes[tier]:
                self.fail(f"{where}.purpose", f"{entry['purpose']!r} is not a {tier} purpose")
            members = self.names(entry["users"], f"{where}.users")
            for member in sorted(members):
                if member not in users:
                    self.fail(f"{where}.users", f"{member!r} is not a user")
                if TIERS.index(users[member].tier) < TIERS.index(tier):
                    self.fail(f"{where}.users", f"{member}'s highest tier is below {tier}")
            projects[name] = Project(
                name,
                entry["purpose"],
                tier,
                members,
                self.feed_set(entry["feeds"], f"{where}.feeds"),
                self.date(entry["ends"], f"{where}.ends"),
            )
        withheld = self.tiers(data.get("withheld"), "withheld", self.feed_set)
        if withheld["level1"]:
            self.fail("withheld.level1", "Level 1 is published to every partner whole")
        return Policy(orgs, users, purposes, withheld, projects, digest)
