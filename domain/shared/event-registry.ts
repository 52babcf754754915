/**
 * Event types, their current schema version and the upcasters that lift old
 * versions on read. Stored events are never rewritten (SPEC 4).
 */
export type Upcaster = (data: any, envelope: UpcastEnvelope) => any;

/** What an upcaster may read of the stored envelope besides the data (e.g. the org the event was recorded in). */
export interface UpcastEnvelope {
  orgId?: string;
}

interface EventTypeEntry {
  version: number;
  /** upcasters[v] lifts data of version v to v + 1. */
  upcasters: Record<number, Upcaster>;
}

export class EventRegistry {
  private readonly types = new Map<string, EventTypeEntry>();

  register(type: string, version = 1, upcasters: Record<number, Upcaster> = {}): this {
    for (let v = 1; v < version; v++) {
      if (!upcasters[v]) throw new Error(`event ${type} v${version}: no upcaster from v${v}`);
    }
    this.types.set(type, { version, upcasters });
    return this;
  }

  currentVersion(type: string): number {
    return this.types.get(type)?.version ?? 1;
  }

  /** Lifts `data` stored at `version` to the current version of `type`. */
  upcast(type: string, version: number, data: unknown, envelope: UpcastEnvelope = {}): { version: number; data: unknown } {
    const entry = this.types.get(type);
    if (!entry || version >= entry.version) return { version, data };
    let lifted = data;
    for (let v = version; v < entry.version; v++) lifted = entry.upcasters[v](lifted, envelope);
    return { version: entry.version, data: lifted };
  }

  has(type: string): boolean {
    return this.types.has(type);
  }
}
