// Debian's Node.js MongoDB driver (node-mongodb 3.6, which opens every connection with a legacy
// OP_QUERY isMaster) against the real `ferry serve --mongo-listen` over TLS. Arguments: the
// connection strings of a user allowed to insert, of a read-only user of another organisation,
// and of the first user with a wrong password. Prints "all checks passed" and exits 0 on success.
// Run by EndToEndTests/MongoEndpointTests.swift with NODE_PATH=/usr/share/nodejs.
'use strict';
const { MongoClient } = require('mongodb');

const [writerURI, readerURI, wrongURI] = process.argv.slice(2);
const failures = [];
function check(condition, what) {
  console.log((condition ? 'ok   ' : 'FAIL ') + what);
  if (!condition) failures.push(what);
}
const options = { useUnifiedTopology: true, serverSelectionTimeoutMS: 30000 };

async function refusedWith(code, what, action) {
  try {
    await action();
    check(false, `${what}: refused with code ${code}`);
  } catch (error) {
    check(error.code === code, `${what}: refused with code ${code} (got ${error.code}: ${error.message})`);
  }
}

async function main() {
  await refusedWith(18, 'a wrong password', async () => {
    const client = await MongoClient.connect(wrongURI, options);
    try { await client.db('admin').command({ ping: 1 }); } finally { await client.close(); }
  });

  const writer = await MongoClient.connect(writerURI, { ...options, monitorCommands: true });
  const started = {};
  writer.on('commandStarted', (event) => { started[event.commandName] = (started[event.commandName] || 0) + 1; });
  const db = writer.db('sensorData');
  const t0 = Date.UTC(2024, 0, 1);
  const docs = [];
  for (let i = 0; i < 250; i++) {
    docs.push({
      time_requested: new Date(t0 + i * 1000), time_received: new Date(t0 + i * 1000 + 3), component_name: i % 2 ? 'odd' : 'even',
      component_type: 'rdk:component:sensor', method_name: 'Readings', data: { readings: { i, temperature: 20 + (i % 5) } },
    });
  }
  const inserted = await db.collection('readings').insertMany(docs);
  check(inserted.insertedCount === 250, `insertMany by a user allowed to insert (${inserted.insertedCount})`);

  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  check(names.includes('readings') && names.includes('hot_readings'), `listCollections: ${names}`);
  const getMoresBefore = started.getMore || 0;
  const found = await db.collection('readings').find({ time_received: { $gte: new Date(t0) } }).sort({ time_received: 1 }).batchSize(50).toArray();
  check(found.length === 250, `find returns all 250 (${found.length})`);
  check(found[0].data.readings.i === 0 && found[249].data.readings.i === 249, 'sorted by time_received');
  check(found[0].time_received instanceof Date, 'times are dates');
  check((started.getMore || 0) - getMoresBefore === 4, `batchSize 50 over 250 readings takes 4 getMores (${(started.getMore || 0) - getMoresBefore})`);
  const grouped = await db.collection('readings').aggregate([{ $group: { _id: '$component_name', n: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray();
  check(JSON.stringify(grouped) === JSON.stringify([{ _id: 'even', n: 125 }, { _id: 'odd', n: 125 }]), `aggregate: ${JSON.stringify(grouped)}`);
  check(await db.collection('readings').countDocuments({ component_name: 'odd' }) === 125, 'countDocuments');
  check((await db.command({ count: 'readings' })).n === 250, 'count');
  const distinct = await db.collection('readings').distinct('data.readings.temperature');
  check(JSON.stringify(distinct) === JSON.stringify([20, 21, 22, 23, 24]), `distinct: ${JSON.stringify(distinct)}`);
  const sql = await db.aggregate([{ $sql: { statement: 'SELECT count(*) AS n FROM readings', format: 'jdbc' } }]).toArray();
  check(sql.length === 1 && sql[0].n === 250, `$sql: ${JSON.stringify(sql)}`);
  await refusedWith(13, 'deleteMany', () => db.collection('readings').deleteMany({}));
  await refusedWith(13, 'insert into another collection', () => db.collection('other').insertOne({ x: 1 }));
  await writer.close();

  const reader = await MongoClient.connect(readerURI, options);
  const theirs = reader.db('sensorData').collection('readings');
  check(await theirs.countDocuments({}) === 0, "another organisation's user sees none of these readings");
  await refusedWith(13, 'insertOne by a read-only user', () => theirs.insertOne(docs[0]));
  await reader.close();
}

main().then(() => {
  console.log(failures.length ? `${failures.length} failed` : 'all checks passed');
  process.exit(failures.length ? 1 : 0);
}, (error) => {
  console.log(`FAIL unexpected error: ${error.stack || error}`);
  process.exit(1);
});
