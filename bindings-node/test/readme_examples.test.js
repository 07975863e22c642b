'use strict'
// The README's JavaScript examples and examples/node run as written.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const mw = require('..')
const { ROOT, tmpdir } = require('./support.js')

// `require('mailwright')` in the examples resolves to this package.
const nodePath = tmpdir('mailwright-node-path-')
fs.symlinkSync(path.resolve(__dirname, '..'), path.join(nodePath, 'mailwright'))
const env = { ...process.env, NODE_PATH: nodePath }
test.after(() => fs.rmSync(nodePath, { recursive: true }))

test('the README JavaScript blocks run', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
  assert.ok(blocks.length > 0, 'the README has JavaScript examples')
  for (const code of blocks) {
    const dir = tmpdir()
    fs.writeFileSync(path.join(dir, 'example.js'), code)
    const r = spawnSync(process.execPath, ['example.js'], { cwd: dir, env, encoding: 'utf8', timeout: 60000 })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /Quarterly report/)
    assert.match(r.stdout, /handled: 1,\s+unmatched: 0,\s+already: 1/)
    assert.ok(fs.readFileSync(path.join(dir, 'out', 'report.pdf')).equals(Buffer.from('%PDF-1.4 ...')))
    fs.rmSync(dir, { recursive: true })
  }
})

test('examples/node/mailbot.js saves allowed PDFs and queues a receipt', async () => {
  const dir = tmpdir()
  const md = new mw.Maildir(path.join(dir, 'Maildir'))
  const pdf = Buffer.from('%PDF-1.4 homework\n%%EOF\n')
  // What the MTA that filled the Maildir found; the example believes it. The forged copy has no such word.
  const verdict = 'Authentication-Results: mx.uni.example; dkim=pass header.d=uni.example; dmarc=pass header.from=uni.example\r\n'
  const hw1 = await mw.build({ from: 'student@uni.example', to: 'bot@uni.example', subject: 'hw1', attachments: [{ filename: 'hw1.pdf', content: pdf }] })
  await md.deliver(Buffer.concat([Buffer.from(verdict), hw1]))
  await md.deliver(await mw.build({ from: 'student@uni.example', to: 'bot@uni.example', subject: 'forged', attachments: [{ filename: 'forged.pdf', content: pdf }] }))
  await md.deliver(await mw.build({ from: 'x@spam.example', to: 'bot@uni.example', subject: 'spam', attachments: [{ filename: 'x.pdf', content: pdf }] }))
  const script = path.join(ROOT, 'examples', 'node', 'mailbot.js')
  const args = [script, 'Maildir', 'saved', '--allow', '*@uni.example', '--from', 'bot@uni.example', '--trust-authserv', 'mx.uni.example', '--once']
  const r = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /student@uni\.example: hw1\.pdf \(24 bytes/)
  assert.match(r.stdout, /handled 3, quarantined 0/)
  assert.doesNotMatch(r.stdout, /forged\.pdf/)
  const savedFiles = fs.readdirSync(path.join(dir, 'saved'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pdf'))
  assert.equal(savedFiles.length, 1)
  const queued = await new mw.Outbox(path.join(dir, 'outbox')).status()
  assert.equal(queued.length, 1, 'one receipt waits in the outbox')
  fs.rmSync(dir, { recursive: true })
})
