'use strict'
// Shared helpers: real servers on loopback skip loudly, and fail under CI=true.

const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const CA = '/etc/mailwright-test/tls/ca.pem'
const ROOT = path.resolve(__dirname, '..', '..')

function reachable(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 })
    s.once('connect', () => {
      s.destroy()
      resolve(fs.existsSync(CA))
    })
    s.once('timeout', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', () => resolve(false))
  })
}

/** Skips `t` (or fails it under CI=true) unless `what` listens on host:port. Returns true if up. */
async function needServer(t, host, port, what) {
  if (await reachable(host, port)) return true
  const msg = `no ${what} on ${host}:${port} (run \`scripts/mail-servers start\` as root)`
  if (process.env.CI === 'true') throw new Error(`${msg}; CI must not skip`)
  console.error(`SKIPPED: ${msg}`)
  t.skip(msg)
  return false
}

function tmpdir(prefix = 'mailwright-node-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

module.exports = { CA, ROOT, needServer, tmpdir }
