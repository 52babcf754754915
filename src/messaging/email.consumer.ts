import { Inject, Injectable } from '@nestjs/common';
import { ADMIN_ROLE_IDS, OWNER_ROLE_ID } from '../../domain/access/roles';
import { SecretBox } from '../../infra/crypto/sealing';
import { MAILER, type Mailer } from '../../infra/email/port';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { ORGS, type OrgRow } from '../../projections/orgs';
import { Settings } from '../config/config';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { READ_STORE } from '../shared/tokens';
import { TableConsumer, type ConsumerHandlers } from './consumer';
import { addedToOrgEmail, linkEmail, seatChangeEmail, sentConfirmationEmail } from './emails';

/** Roles told of seat changes (R-BILL-1): the Owner and the presets' admin roles. */
const BILLING_CONTACT_ROLES = [OWNER_ROLE_ID, ...ADMIN_ROLE_IDS];

/**
 * Sends the emails the log asks for: links (invitation, setup, reset with the
 * actor's copy, magic link) and seat-change notices. Transactional: preferences
 * never hold them back (R-PREF-3).
 */
@Injectable()
export class EmailConsumer extends TableConsumer {
  readonly name = 'email';

  constructor(
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly box: SecretBox,
    private readonly settings: Settings,
    private readonly projections: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
  ) {
    super();
  }

  protected readonly on: ConsumerHandlers = {
    LinkEmailRequested: async (event) => {
      const { purpose, expiresAt, sealedToken, confirmTo, bcc, ...delivery } = event.data;
      const confirmation = confirmTo ?? bcc;
      return async () => {
        await this.mailer.send(linkEmail(purpose, delivery, this.box.open(sealedToken), expiresAt, this.settings.publicUrl));
        if (confirmation) await this.mailer.send(sentConfirmationEmail(purpose, confirmation, delivery.to));
      };
    },

    /** R-BILL-1: the Owners and Admins of the org as of this event hear of the seat change. */
    SeatQuantityUpdated: async (event) => {
      const { orgId, quantity, previousQuantity } = event.data;
      await this.projections.waitFor(event.position, 5_000);
      const org = await this.org(orgId);
      const contacts = await this.readStore.find<MemberRow>({
        collection: this.projections.collection(MEMBERS),
        where: { orgId, roleId: { in: BILLING_CONTACT_ROLES }, status: 'active' },
        orderBy: [['id', 'asc']],
        limit: 100,
      });
      const emails = [...new Set(contacts.map((m) => m.email))];
      return async () => {
        for (const to of emails) await this.mailer.send(seatChangeEmail(to, org?.name ?? 'Your organization', quantity, previousQuantity ?? undefined));
      };
    },

    /** R-SEC-4: an existing account added to one more org hears of it (a new account gets its setup link or invitation instead). */
    MemberAdded: async (event) => {
      const { orgId, userId, via } = event.data;
      if (via !== 'existing') return undefined;
      await this.projections.waitFor(event.position, 5_000);
      const [org, member] = await Promise.all([this.org(orgId), this.readStore.getMany<MemberRow>(this.projections.collection(MEMBERS), [`${orgId}:${userId}`]).then((m) => m.get(`${orgId}:${userId}`))]);
      if (!member?.email) return undefined; // already gone again: nobody to tell
      return () => this.mailer.send(addedToOrgEmail(member.email, org?.name ?? 'An organization', this.settings.publicUrl));
    },
  };

  private async org(orgId: string): Promise<OrgRow | undefined> {
    return (await this.readStore.getMany<OrgRow>(this.projections.collection(ORGS), [orgId])).get(orgId);
  }
}
