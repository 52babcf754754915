import { Inject, Injectable } from '@nestjs/common';
import type { BillingEvent } from '../../domain/billing/billing';
import { OWNER_ROLE_ID } from '../../domain/access/roles';
import type { LinkEvent } from '../../domain/link/link';
import type { MembershipEvent } from '../../domain/membership/membership';
import { SecretBox } from '../../infra/crypto/sealing';
import { MAILER, type Mailer } from '../../infra/email/port';
import type { Recorded } from '../../domain/events';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, ORGS, type MemberRow, type OrgRow } from '../../projections/directory';
import { Settings } from '../config/config';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { READ_STORE } from '../shared/tokens';
import type { Consumer, ConsumerScope, Effect } from './consumer';
import { addedToOrgEmail, linkEmail, seatChangeEmail, sentConfirmationEmail } from './emails';

type Data<T extends { type: string; data: unknown }, K extends T['type']> = Extract<T, { type: K }>['data'];

/** Roles told of seat changes (R-BILL-1): the Owner and the presets' admin roles. */
const BILLING_CONTACT_ROLES = [OWNER_ROLE_ID, 'admin', 'org-admin', 'partner-admin'];

/**
 * Sends the emails the log asks for: links (invitation, setup, reset with the
 * actor's copy, magic link) and seat-change notices. Transactional: preferences
 * never hold them back (R-PREF-3).
 */
@Injectable()
export class EmailConsumer implements Consumer {
  readonly name = 'email';
  readonly handles = ['LinkEmailRequested', 'SeatQuantityUpdated', 'MemberAdded'];

  constructor(
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly box: SecretBox,
    private readonly settings: Settings,
    private readonly projections: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
  ) {}

  async handle(event: Recorded, _scope: ConsumerScope): Promise<Effect | undefined> {
    if (event.type === 'LinkEmailRequested') {
      const { purpose, expiresAt, sealedToken, confirmTo, bcc, ...delivery } = event.data as Data<LinkEvent, 'LinkEmailRequested'>;
      const confirmation = confirmTo ?? bcc;
      return async () => {
        await this.mailer.send(linkEmail(purpose, delivery, this.box.open(sealedToken), expiresAt, this.settings.publicUrl));
        if (confirmation) await this.mailer.send(sentConfirmationEmail(purpose, confirmation, delivery.to));
      };
    }
    if (event.type === 'MemberAdded') return this.addedToOrg(event);
    const { orgId, quantity, previousQuantity } = event.data as Data<BillingEvent, 'SeatQuantityUpdated'>;
    // The members list as of this event: who the Owners and Admins are then.
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
  }

  /** R-SEC-4: an existing account added to one more org hears of it (a new account gets its setup link or invitation instead). */
  private async addedToOrg(event: Recorded): Promise<Effect | undefined> {
    const { orgId, userId, via } = event.data as Data<MembershipEvent, 'MemberAdded'>;
    if (via !== 'existing') return undefined;
    await this.projections.waitFor(event.position, 5_000);
    const [org, member] = await Promise.all([this.org(orgId), this.readStore.getMany<MemberRow>(this.projections.collection(MEMBERS), [`${orgId}:${userId}`]).then((m) => m.get(`${orgId}:${userId}`))]);
    if (!member?.email) return undefined; // already gone again: nobody to tell
    return () => this.mailer.send(addedToOrgEmail(member.email, org?.name ?? 'An organization', this.settings.publicUrl));
  }

  private async org(orgId: string): Promise<OrgRow | undefined> {
    return (await this.readStore.getMany<OrgRow>(this.projections.collection(ORGS), [orgId])).get(orgId);
  }
}
