"""``mamoru inspection remind``: e-mail for unsubmitted checklists, once per interval, safe to run twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from mamoru.inspection import services
from tests.inspection.factories import answer_everything, assignment_of, campaign_for, city_checklists

pytestmark = pytest.mark.django_db

world_setup = city_checklists  # once per module (tests/conftest.py)


@pytest.fixture
def addressed(world):
    for name, person in world.people.items():
        person.email = f"{name}@city.example.lg.jp"
        person.save()
    campaign = campaign_for(world, audiences=["all_staff"], sections=[world.units["sec_a"]])
    answer_everything(assignment_of(campaign, world, "ciso"), world.user("ciso"))
    return campaign


def test_everyone_with_an_unsubmitted_checklist_is_reminded_once_per_interval(world, addressed, capsys):
    call_command("inspection", "remind")
    assert "reminders sent: 4" in capsys.readouterr().out
    assert sorted(m.to[0] for m in mail.outbox) == [
        "chief@city.example.lg.jp", "manager_a@city.example.lg.jp", "staff_a@city.example.lg.jp",
        "sysadmin_a@city.example.lg.jp"]  # the CISO has submitted
    message = next(m for m in mail.outbox if m.to == ["staff_a@city.example.lg.jp"])
    assert addressed.title in message.subject and addressed.due_on.isoformat() in message.body
    assert "0 of" in message.body

    call_command("inspection", "remind")  # a second host, or cron running again: nothing twice
    assert len(mail.outbox) == 4
    later = timezone.now() + dt.timedelta(days=addressed.remind_every_days, minutes=1)
    assert services.reminders_send(now=later) == 4
    assert assignment_of(addressed, world, "staff_a").reminders == 2


def test_a_closed_campaign_reminds_nobody(world, addressed):
    services.campaign_close(campaign=addressed)
    assert services.reminders_send() == 0 and mail.outbox == []


def test_an_overdue_reminder_says_so(world, addressed):
    later = timezone.make_aware(dt.datetime.combine(addressed.due_on + dt.timedelta(days=1), dt.time(9)))
    services.reminders_send(now=later)
    assert all(m.subject.startswith("Overdue: self-inspection") for m in mail.outbox)
