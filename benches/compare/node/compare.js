// The Node binding against the JavaScript mail libraries, in one run:
//  1. parse + decode every part, on the generated corpora (typical 2–50 KB, large 1–5 MB), against
//     mailparser's simpleParser and postal-mime; medians of ROUNDS rounds, MB/s and ratios;
//  2. sending COUNT messages of 20 KB to Postfix's smtp-sink (127.0.0.4:2525, started by
//     scripts/mail-servers) against nodemailer, over one connection and over four.
//
//   cargo run --release -p mailwright-benches --bin gen-corpus -- /tmp/corpus
//   npm install ./bindings-node && npm install --prefix benches/compare/node
//   node benches/compare/node/compare.js /tmp/corpus [ROUNDS] [COUNT] [--large N] [--real DIR] [--json FILE]
// --real DIR adds a third set: every file of 2–50 KB under DIR (real-world messages, e.g. public
// parser test suites), read in place.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const net = require('node:net')
const mw = require('../../../bindings-node')
const { simpleParser } = require('mailparser')
const PostalMime = require('postal-mime').default ?? require('postal-mime')
const nodemailer = require('nodemailer')

const args = process.argv.slice(2)
const flag = (name) => {
  const at = args.indexOf(name)
  return at >= 0 ? args.splice(at, 2)[1] : null
}
const jsonOut = flag('--json')
const largeLimit = Number(flag('--large') || 0)
const realDir = flag('--real')
const REAL_REPEAT = 20
const [root, roundsArg, countArg] = args
const rounds = Number(roundsArg || 3)
const count = Number(countArg || 2000)

function listFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? listFiles(p) : e.name.endsWith('.md') ? [] : [p]
  })
}

function corpus(name) {
  if (name === 'real-world') {
    // Under a megabyte: each round goes over it REAL_REPEAT times.
    const set = listFiles(realDir)
      .sort()
      .map((f) => fs.readFileSync(f))
      .filter((b) => b.length >= 2000 && b.length < 50000)
    return Array.from({ length: REAL_REPEAT }, () => set).flat()
  }
  const dir = path.join(root, name)
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
  return (name === 'large' && largeLimit ? names.slice(0, largeLimit) : names).map((f) => fs.readFileSync(path.join(dir, f)))
}

// Each parser reads every part's decoded content, the way a bot would.
function mailwright(raw) {
  let n = 0
  for (const p of mw.parse(raw).parts) {
    if (p.kind !== 'leaf') continue
    n += p.contentType.startsWith('text/') ? p.text.length : p.content.length
  }
  return n
}

async function mailparser(raw) {
  const m = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true })
  let n = (m.text || '').length + (typeof m.html === 'string' ? m.html.length : 0)
  for (const a of m.attachments) n += a.content.length
  return n
}

async function postalMime(raw) {
  const m = await PostalMime.parse(raw)
  let n = (m.text || '').length + (m.html || '').length
  for (const a of m.attachments) n += a.content.byteLength ?? a.content.length
  return n
}

// A full collection before each timed round: no library pays for the garbage another one left
// (each still pays for its own within its round; what it leaves at the end is not timed, which
// favours the libraries that make the most garbage).
const collect = (() => {
  require('node:v8').setFlagsFromString('--expose-gc')
  return require('node:vm').runInNewContext('gc')
})()

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

// Every order of the libraries in turn, one per round.
const permutations = (xs) =>
  xs.length <= 1 ? [xs] : xs.flatMap((x, k) => permutations([...xs.slice(0, k), ...xs.slice(k + 1)]).map((p) => [x, ...p]))

// Each round runs every library once, so that a slow spell of the machine hits them alike, in a
// different order each round (every order in turn): each library runs right after each other one
// (the caches, the heap and the collector threads as that one left them) as often as after any
// other. (Turning one order round by round, as before, kept the cycle: mailwright always ran right
// after mailparser, whose leftovers cost it 10–80 % of a round.)
// Each round starts after a turn of the event loop, as a bot's batches do, and a full collection.
async function rates(files, libs, r) {
  const size = files.reduce((s, f) => s + f.length, 0)
  const times = Object.fromEntries(Object.keys(libs).map((k) => [k, []]))
  const orders = permutations(Object.entries(libs))
  // Warm-up: every library once over the whole set, untimed, so that what happens once (compiling,
  // growing the heaps, the first collections of another library's leftovers) is behind all of them.
  for (const fn of Object.values(libs)) for (const f of files) await fn(f)
  for (let i = 0; i < r; i++) {
    for (const [name, fn] of orders[i % orders.length]) {
      await new Promise(setImmediate)
      collect()
      const t = process.hrtime.bigint()
      for (const f of files) await fn(f)
      times[name].push(Number(process.hrtime.bigint() - t) / 1e9)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, ts]) => [k, size / median(ts) / 1e6]))
}

function up(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 })
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
    s.once('timeout', () => (s.destroy(), resolve(false)))
  })
}

async function sendRates(host, port) {
  const body = 'The quick brown fox jumps over the lazy dog. '.repeat(445).slice(0, 20000)
  const raw = Buffer.from(`From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n${body}\r\n`)
  const envelope = { from: 'a@example.test', to: ['b@example.test'] }
  const url = `smtp://${host}:${port}`
  const out = {}
  const timed = async (label, fn) => {
    const rs = []
    for (let i = 0; i < rounds; i++) {
      const t = process.hrtime.bigint()
      await fn()
      rs.push(count / (Number(process.hrtime.bigint() - t) / 1e9))
    }
    out[label] = median(rs)
  }
  for (const conns of [1, 4]) {
    await timed(`mailwright, ${conns} connection${conns > 1 ? 's' : ''}`, async () => {
      const ts = Array.from({ length: conns }, () => new mw.Transport({ smtp: url, allowPlaintext: true }))
      await Promise.all(
        ts.map(async (t, k) => {
          for (let i = k; i < count; i += conns) await t.send(raw)
        }),
      )
      ts.forEach((t) => t.close())
    })
    await timed(`nodemailer, ${conns} connection${conns > 1 ? 's' : ''}`, async () => {
      const t = nodemailer.createTransport({ host, port, secure: false, ignoreTLS: true, pool: true, maxConnections: conns, maxMessages: Infinity })
      await Promise.all(Array.from({ length: count }, () => t.sendMail({ envelope, raw })))
      t.close()
    })
  }
  return out
}

async function main() {
  const results = { parse: {}, send: null, rounds, count }
  for (const name of ['typical', 'large', ...(realDir ? ['real-world'] : [])]) {
    const files = corpus(name)
    const mb = files.reduce((s, f) => s + f.length, 0) / 1e6
    const r = await rates(files, { mailwright, 'postal-mime': postalMime, 'mailparser simpleParser': mailparser }, rounds)
    results.parse[name] = r
    const n = name === 'real-world' ? `${files.length / REAL_REPEAT} messages x ${REAL_REPEAT}` : `${files.length} messages`
    console.log(`parse + decode, ${name} (${n}, ${mb.toFixed(0)} MB), median of ${rounds}:`)
    for (const [k, v] of Object.entries(r)) {
      console.log(`  ${k.padEnd(26)} ${v.toFixed(1).padStart(8)} MB/s   mailwright is ${(r.mailwright / v).toFixed(1)}x`)
    }
  }
  const [host, port] = ['127.0.0.4', 2525]
  if (await up(host, port)) {
    results.send = await sendRates(host, port)
    console.log(`send ${count} x 20 KB to smtp-sink, messages/s, median of ${rounds}:`)
    for (const [k, v] of Object.entries(results.send)) console.log(`  ${k.padEnd(28)} ${v.toFixed(0).padStart(7)}`)
  } else {
    console.log(`send: no smtp-sink on ${host}:${port} (run scripts/mail-servers start as root); skipped`)
  }
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
