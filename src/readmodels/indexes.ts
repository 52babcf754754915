import type { IndexSpec } from '../../infra/readstore/port';
import { INVITATIONS } from '../../projections/invitations';
import { MEMBERS } from '../../projections/members';
import { ORGS } from '../../projections/orgs';
import { SESSIONS } from '../../projections/sessions';
import { LOGIN_ACTIVITY } from '../../projections/login-activity';
import { PERMISSION_HISTORY } from '../../projections/permission-history';

/** The indexes the queries need, the same on every read store. */
export const READ_MODEL_INDEXES: IndexSpec[] = [
  { collection: MEMBERS, fields: ['orgId', 'nameKey', 'id'] },
  { collection: MEMBERS, fields: ['orgId', 'lastNameKey', 'id'] },
  { collection: MEMBERS, fields: ['orgId', 'emailKey', 'id'] },
  { collection: MEMBERS, fields: ['orgId', 'joinedAt', 'id'] },
  { collection: MEMBERS, fields: ['orgId', 'lastSignInAt', 'id'] },
  { collection: INVITATIONS, fields: ['orgId', 'status', 'invitedAt', 'id'] },
  { collection: MEMBERS, fields: ['userId', 'orgId'] },
  { collection: MEMBERS, fields: ['orgId', 'roleId', 'id'] },
  { collection: ORGS, fields: ['nameKey', 'id'] },
  { collection: SESSIONS, fields: ['userId', 'startedAt', 'id'] },
  // Sorted by (seq, id): the index ends with both, so no store sorts a person's rows in memory.
  { collection: PERMISSION_HISTORY, fields: ['orgId', 'userId', 'seq', 'id'] },
  { collection: LOGIN_ACTIVITY, fields: ['userId', 'seq', 'id'] },
];
