"""Every model, imported in one place so Alembic and create_all see the whole schema."""
from fivs.actions.models import CorrectiveAction  # noqa: F401
from fivs.audits.models import Acknowledgement, Answer, Audit, Room  # noqa: F401
from fivs.calendar.models import RoundWindow  # noqa: F401
from fivs.auth.models import ApiToken, User, consultant_sites  # noqa: F401
from fivs.checklists.models import ChecklistTemplate, Item, Zone  # noqa: F401
from fivs.events.models import Event  # noqa: F401
from fivs.photos.models import Photo  # noqa: F401
from fivs.round_sums.models import RoundSum  # noqa: F401
from fivs.sites.models import Site  # noqa: F401
