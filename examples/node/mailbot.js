#!/usr/bin/env node
// A mailbot: watches a Maildir, saves the PDFs that allowed senders attach, and replies with a
// receipt. Only mail that proves its sender counts (DKIM + DMARC, checked here, or the word of the
// MTA that filled the Maildir with --trust-authserv): a forged From: is handled without action.
// Each message is handled once; one whose handler fails goes to Quarantine with the reason.
//
//   node mailbot.js ~/Maildir saved/ --allow '*@uni.example' --from bot@uni.example \
//     [--trust-authserv mx.uni.example] [--outbox DIR | --smtp URL] [--once]
'use strict'

const { parseArgs } = require('node:util')
const crypto = require('node:crypto')
const { Mailbot } = require('mailwright')

const { values: o, positionals: [maildir, saved] } = parseArgs({
  allowPositionals: true,
  options: {
    allow: { type: 'string', default: '*@example.org' },
    from: { type: 'string', default: 'mailbot@example.org' },
    outbox: { type: 'string', default: 'outbox' },
    smtp: { type: 'string' },
    'trust-authserv': { type: 'string' },
    once: { type: 'boolean', default: false },
  },
})

const bot = new Mailbot({
  maildir,
  done: 'Saved',
  trustAuthserv: o['trust-authserv'],
  transport: o.smtp ? { from: o.from, smtp: o.smtp } : { from: o.from, outbox: o.outbox },
})
bot.rule(
  {
    name: 'save-pdfs',
    from: [o.allow],
    authenticated: true,
    attachmentType: ['application/pdf'],
    actions: [{ type: 'save', dir: saved }, { type: 'reply', text: 'Received "{subject}"; your PDF is saved.' }],
  },
  async (message, pdfs) => {
    for (const pdf of pdfs) {
      const sha = crypto.createHash('sha256').update(pdf.content).digest('hex')
      console.log(`${message.from[0]?.address}: ${pdf.filename} (${pdf.size} bytes, sha256 ${sha.slice(0, 16)})`)
    }
  },
)

if (o.once) bot.runOnce().then((r) => console.log(`handled ${r.handled}, quarantined ${r.quarantined}`))
else {
  process.on('SIGINT', () => bot.stop())
  bot.watch({ interval: 1 })
}
