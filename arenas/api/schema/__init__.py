"""The OpenAPI description of the API: response shapes, errors, headers and security.

The serializers here are never used to build a response: responses come from
`arenas.representations` and `events.to_wire`. They describe those dicts for
drf-spectacular, field for field; the API tests and the schemathesis run check every
response against this description.

One module per concern: `base` (security schemes, closed bodies, field helpers, pages),
`errors`, `parameters` (headers and query parameters), `writes` (the description of a write
on one arena and the shared 409 conflicts), `common` (components many bodies hold), and the
bodies of each resource (`service`, `events`, `participants`, `arenas`, `claims`,
`requests`, `plan`, `artifacts`, `usage`, `history`). Everything is importable from here.
"""

from .arenas import (
    CALLER_ROLES,
    AggregateSerializer,
    ArenaDetailSerializer,
    ArenaPage,
    ArenaSerializer,
    ForkSerializer,
    SettleReportSerializer,
    YouSerializer,
)
from .artifacts import (
    ArtifactPage,
    ArtifactSerializer,
    ArtifactSummarySerializer,
    FactPage,
    FactSerializer,
)
from .base import (
    MONEY_PATTERN,
    BearerScheme,
    ClosedSchemaExtension,
    StaffSessionScheme,
    Wire,
    money_field,
    paginated,
    security_scheme,
    timestamp_field,
    tokens_field,
)
from .claims import (
    ClaimHeldSerializer,
    ClaimPage,
    ClaimSerializer,
    ClaimTakenSerializer,
    NoClaimSerializer,
    StepClaimSerializer,
)
from .common import (
    BudgetSerializer,
    ForkedFromSerializer,
    PermissionsSerializer,
    UsageTotalsSerializer,
)
from .errors import (
    ERROR_HEADERS,
    ERROR_TEXT,
    IN_PROGRESS,
    UNAVAILABLE,
    ErrorSerializer,
    add_error_headers,
    errors,
    read_errors,
    write_errors,
)
from .events import (
    EVENT_SERIALIZERS,
    EventEnvelopeSerializer,
    EventSerializer,
    EventsPageSerializer,
)
from .history import (
    StateArenaSerializer,
    StateClaimSerializer,
    StateParticipantSerializer,
    StateSerializer,
)
from .parameters import (
    ARENA_ID,
    CLAIM_ID,
    CURSOR,
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LIMIT,
    PAGED,
    REPLAYED,
    REQUEST_ID,
    STEP_NUMBER,
    WWW_AUTHENTICATE,
    after,
    header,
    query,
)
from .participants import (
    ParticipantPage,
    ParticipantSerializer,
)
from .plan import (
    REVIEW_STATES,
    ReviewOpenedSerializer,
    StepPage,
    StepResultSerializer,
    StepSerializer,
)
from .requests import (
    AnswerSerializer,
    RequestPage,
    RequestSerializer,
)
from .service import (
    HEALTH_STATUSES,
    ActiveArenasSerializer,
    HealthSerializer,
    MeSerializer,
)
from .usage import (
    BudgetStateSerializer,
    RemainingSerializer,
    SpentSerializer,
    UsageBreakdownSerializer,
    UsageGroupSerializer,
    UsageRecordedSerializer,
    UsageReportSerializer,
)
from .writes import (
    CLAIM_CONFLICTS,
    SLOT_CONFLICTS,
    arena_delete,
    arena_write,
)

__all__ = [
    "ARENA_ID",
    "ActiveArenasSerializer",
    "AggregateSerializer",
    "AnswerSerializer",
    "ArenaDetailSerializer",
    "ArenaPage",
    "ArenaSerializer",
    "ArtifactPage",
    "ArtifactSerializer",
    "ArtifactSummarySerializer",
    "BearerScheme",
    "BudgetSerializer",
    "BudgetStateSerializer",
    "CALLER_ROLES",
    "CLAIM_CONFLICTS",
    "CLAIM_ID",
    "CURSOR",
    "ClaimHeldSerializer",
    "ClaimPage",
    "ClaimSerializer",
    "ClaimTakenSerializer",
    "ClosedSchemaExtension",
    "ERROR_HEADERS",
    "ERROR_TEXT",
    "ETAG",
    "EVENT_SERIALIZERS",
    "ErrorSerializer",
    "EventEnvelopeSerializer",
    "EventSerializer",
    "EventsPageSerializer",
    "FactPage",
    "FactSerializer",
    "ForkSerializer",
    "ForkedFromSerializer",
    "HEALTH_STATUSES",
    "HealthSerializer",
    "IDEMPOTENCY_KEY",
    "IF_MATCH",
    "IN_PROGRESS",
    "LIMIT",
    "MONEY_PATTERN",
    "MeSerializer",
    "NoClaimSerializer",
    "PAGED",
    "ParticipantPage",
    "ParticipantSerializer",
    "PermissionsSerializer",
    "REPLAYED",
    "REQUEST_ID",
    "REVIEW_STATES",
    "RemainingSerializer",
    "RequestPage",
    "RequestSerializer",
    "ReviewOpenedSerializer",
    "SLOT_CONFLICTS",
    "STEP_NUMBER",
    "SettleReportSerializer",
    "SpentSerializer",
    "StaffSessionScheme",
    "StateArenaSerializer",
    "StateClaimSerializer",
    "StateParticipantSerializer",
    "StateSerializer",
    "StepClaimSerializer",
    "StepPage",
    "StepResultSerializer",
    "StepSerializer",
    "UNAVAILABLE",
    "UsageBreakdownSerializer",
    "UsageGroupSerializer",
    "UsageRecordedSerializer",
    "UsageReportSerializer",
    "UsageTotalsSerializer",
    "WWW_AUTHENTICATE",
    "Wire",
    "YouSerializer",
    "add_error_headers",
    "after",
    "arena_delete",
    "arena_write",
    "errors",
    "header",
    "money_field",
    "paginated",
    "query",
    "read_errors",
    "security_scheme",
    "timestamp_field",
    "tokens_field",
    "write_errors",
]
