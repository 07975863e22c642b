'use strict'
// The mailbot with async JavaScript handlers: each message handled once, failures quarantined.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const mw = require('..')
const { tmpdir } = require('./support.js')

async function fill(maildir) {
  const md = new mw.Maildir(maildir)
  const pdf = Buffer.from('%PDF-1.4 course notes\n%%EOF\n')
  for (const [from, subject] of [
    ['prof@uni.example', 'sheet 1'],
    ['prof@uni.example', 'sheet 2'],
    ['spam@elsewhere.example', 'buy now'],
    ['prof@uni.example', 'explode'],
  ]) {
    await md.deliver(await mw.build({ from, to: 'bot@uni.example', subject, text: 'see attached', attachments: [{ filename: `${subject}.pdf`, content: pdf }] }))
  }
  return md
}

test('rules with async handlers: run once, reply, quarantine, never twice', async () => {
  const dir = tmpdir()
  const maildir = path.join(dir, 'Maildir')
  await fill(maildir)
  const bot = new mw.Mailbot({
    maildir,
    state: path.join(dir, 'state'),
    transport: { from: 'bot@uni.example', maildir: path.join(dir, 'Replies') },
    // This test is about handlers; replies to unsigned senders are tested in auth.test.js.
    replyUnauthenticated: true,
  })
  const calls = []
  bot.rule(
    {
      name: 'pdfs',
      from: ['*@uni.example'],
      attachmentType: ['application/pdf'],
      actions: [
        { type: 'save', dir: path.join(dir, 'pdfs') },
        { type: 'reply', text: 'Got {subject}.' },
      ],
    },
    async (message, attachments) => {
      await new Promise((r) => setTimeout(r, 10)) // a real await on the event loop
      if (message.subject === 'explode') throw new Error('printer on fire')
      calls.push([message.subject, attachments.map((a) => a.filename), attachments[0].content.toString().slice(0, 8)])
    },
  )
  const report = await bot.runOnce()
  assert.deepEqual([report.handled, report.unmatched, report.quarantined], [3, 1, 1])
  calls.sort()
  assert.deepEqual(calls, [
    ['sheet 1', ['sheet 1.pdf'], '%PDF-1.4'],
    ['sheet 2', ['sheet 2.pdf'], '%PDF-1.4'],
  ])
  const quarantined = await new mw.Maildir(path.join(maildir, '.Quarantine')).messages()
  assert.equal(quarantined.length, 1)
  const reasons = fs.readdirSync(path.join(dir, 'state', 'quarantine'))
  assert.match(fs.readFileSync(path.join(dir, 'state', 'quarantine', reasons[0]), 'utf8'), /printer on fire/)
  const replies = await new mw.Maildir(path.join(dir, 'Replies')).messages()
  assert.equal(replies.length, 3, 'replies are sent before the handler runs, the failed one included')
  assert.ok(report.log.length > 0)

  const second = await bot.runOnce()
  assert.deepEqual([second.handled, second.quarantined], [0, 0])
  assert.equal(calls.length, 2)
  fs.rmSync(dir, { recursive: true })
})

test('a sync handler works, a bad rule throws at once, watch stops on stop()', async () => {
  const dir = tmpdir()
  const maildir = path.join(dir, 'Maildir')
  const md = await fill(maildir)
  const bot = new mw.Mailbot({ maildir, state: path.join(dir, 'state') })
  assert.throws(() => bot.rule({ name: 'bad', actions: [{ type: 'reply', text: 'x' }] }), (e) => mw.isMailwrightError(e) && e.kind === 'bot')
  assert.throws(() => bot.rule({ name: 'bad2', actions: [{ type: 'teleport' }] }), (e) => mw.isMailwrightError(e) && e.kind === 'bot')
  const seen = []
  bot.rule({ name: 'all' }, (message) => {
    seen.push(message.subject)
  })
  assert.throws(() => new mw.Mailbot({}), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  const watching = bot.watch({ interval: 0.05 })
  const deadline = Date.now() + 10000
  while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  await md.deliver(await mw.build({ from: 'late@uni.example', to: 'bot@uni.example', subject: 'late', text: 'x' }))
  while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  bot.stop()
  await watching
  assert.equal(seen.length, 5)
  assert.ok(seen.includes('late'))
  assert.ok(bot.takeLog().length > 0)
  fs.rmSync(dir, { recursive: true })
})

test('during watch() no call blocks the event loop: runOnce, watch and rule throw busy, stop() ends it', async () => {
  const dir = tmpdir()
  const maildir = path.join(dir, 'Maildir')
  await fill(maildir)
  const bot = new mw.Mailbot({ maildir, state: path.join(dir, 'state') })
  let seen = 0
  bot.rule({ name: 'all' }, () => {
    seen++
  })
  const watching = bot.watch({ interval: 0.05 })
  const deadline = Date.now() + 10000
  while (seen < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  assert.equal(seen, 4)
  const busy = (e) => mw.isMailwrightError(e) && e.kind === 'busy' && e.code === 'EMAILWRIGHT_BUSY'
  // Each would have waited on the worker's lock on this thread, for as long as the watch ran.
  const started = Date.now()
  assert.throws(() => bot.runOnce(), busy)
  assert.throws(() => bot.watch({ interval: 0.05 }), busy)
  assert.throws(() => bot.rule({ name: 'late' }), busy)
  assert.ok(Date.now() - started < 1000, 'the calls returned at once')
  // The event loop still turns: timers fire while the watch runs.
  let ticks = 0
  await new Promise((resolve) => {
    const t = setInterval(() => {
      if (++ticks === 5) {
        clearInterval(t)
        resolve()
      }
    }, 10)
  })
  bot.stop()
  await watching
  // Free again once the watch resolved.
  bot.rule({ name: 'later' })
  const report = await bot.runOnce()
  assert.equal(report.handled, 0)
  assert.equal(report.retrying, 0)
  fs.rmSync(dir, { recursive: true })
})
