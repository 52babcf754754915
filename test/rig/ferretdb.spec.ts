import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';

interface Member {
  _id: string;
  name: string;
  searchKey: string;
  position: number;
}

describe('test rig: MongoDB wire server (FerretDB, or MONGODB_URL)', () => {
  let client: MongoClient;

  beforeAll(async () => {
    const url = process.env.MONGODB_URL;
    if (!url) {
      throw new Error(
        'MONGODB_URL is not set: run the tests through jest with jest.config.js ' +
          '(its globalSetup starts FerretDB), or set MONGODB_URL yourself.',
      );
    }
    client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
  });

  it('writes, upserts, queries, counts and drops a fresh database', async () => {
    const db = client.db(`gh_rig_${randomBytes(6).toString('hex')}`);
    try {
      const members = db.collection<Member>('members');
      await members.insertMany([
        { _id: 'm1', name: 'Zoë', searchKey: 'zoe', position: 1 },
        { _id: 'm2', name: 'Adam', searchKey: 'adam', position: 2 },
      ]);

      // The read-model write pattern: whole-document replaceOne upsert by _id.
      const replaced = await members.replaceOne(
        { _id: 'm1' },
        { name: 'Zoë B', searchKey: 'zoe b', position: 3 },
        { upsert: true },
      );
      expect(replaced.matchedCount).toBe(1);
      const inserted = await members.replaceOne(
        { _id: 'm3' },
        { name: 'Mia', searchKey: 'mia', position: 4 },
        { upsert: true },
      );
      expect(inserted.upsertedId).toBe('m3');

      const firstTwo = await members.find({}, { sort: { searchKey: 1 }, limit: 2 }).toArray();
      expect(firstTwo).toEqual([
        { _id: 'm2', name: 'Adam', searchKey: 'adam', position: 2 },
        { _id: 'm3', name: 'Mia', searchKey: 'mia', position: 4 },
      ]);
      expect(await members.countDocuments()).toBe(3);
      expect(await members.countDocuments({ position: { $gte: 3 } })).toBe(2);
    } finally {
      await db.dropDatabase();
    }

    const { databases } = await client.db('admin').admin().listDatabases();
    expect(databases.map((d) => d.name)).not.toContain(db.databaseName);
  });
});
