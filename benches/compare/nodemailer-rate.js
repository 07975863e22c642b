// nodemailer's messages per second to a sink: node nodemailer-rate.js HOST PORT COUNT SIZE pooled|new
// "pooled": one pooled connection (maxConnections 1), all messages queued at once.
const nodemailer = require('nodemailer');
const [host, port, count, size, mode] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], process.argv[6] || 'pooled'];
const body = 'The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil(size / 45)).slice(0, size);
const raw = `From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n${body}\r\n`;
const envelope = { from: 'a@example.test', to: ['b@example.test'] };
const opts = { host, port, secure: false, ignoreTLS: true };
(async () => {
  const start = process.hrtime.bigint();
  if (mode === 'pooled') {
    const t = nodemailer.createTransport({ ...opts, pool: true, maxConnections: 1, maxMessages: Infinity });
    await Promise.all(Array.from({ length: count }, () => t.sendMail({ envelope, raw })));
    t.close();
  } else {
    for (let i = 0; i < count; i++) {
      const t = nodemailer.createTransport(opts);
      await t.sendMail({ envelope, raw });
      t.close();
    }
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${count} ${secs.toFixed(3)} ${Math.round(count / secs)}`);
})().catch((e) => { console.error(e); process.exit(1); });
