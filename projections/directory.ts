import { INVITATIONS, invitations } from './invitations';
import { MEMBERS, members } from './members';
import { ORGS, orgs } from './orgs';
import { compose } from './projection';
import { SESSIONS, sessions } from './sessions';
import { USERS, users } from './users';

/**
 * The lists the admin UI reads (members, people, invitations, orgs, sessions):
 * five read models, each its own reducer table, run as one projection so they
 * share one checkpoint and one name (a split would be a rebuild). Members run
 * before users: a new row copies the person's document as it was before
 * `MemberAdded` changed it (when the invitation was sent).
 */
export const directory = compose('directory.v1', [MEMBERS, USERS, INVITATIONS, ORGS, SESSIONS], members, users, invitations, orgs, sessions);
