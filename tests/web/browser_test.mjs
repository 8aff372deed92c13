// The browser test: real realmd processes (alpha dials beta, gamma dials alpha, delta is
// alpha's idle peer), each serving the browser client; Debian's Chromium, driven by
// playwright-core, opens pages on them. Users talk across the realms (messages appear live,
// pushed through `watch`, no reload; errors in the red banner); a login shows every message
// that waited (from alpha, linked beta, gamma gone since; the idle peer stops nothing); history
// pages back on scrolling up; a reload and a killed-and-restarted realm bring everything back;
// times are local; at 360 px the compose box stays in view.
//   node browser_test.mjs BIN_DIR WORK_DIR SCREENSHOT_PNG PLAYWRIGHT_CORE_DIR
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {connect, createServer} from 'node:net';
import {createRequire} from 'node:module';
import {join} from 'node:path';

const [binDir, workDir, screenshotPath, playwrightDir] = process.argv.slice(2);
const {chromium} = createRequire(join(playwrightDir, 'package.json'))('playwright-core');

const deadline = 15000;  // every wait of this test, in ms
let failures = 0;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

// Polls `probe` until it returns a truthy value; throws naming `what` at the deadline.
async function eventually(what, probe) {
  const end = Date.now() + deadline;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// A port on 127.0.0.1 that was free a moment ago, below the ephemeral range (a port the system
// hands out for port 0 could be taken again as a dialling realm's source port). Fixed ports
// let a realm restart where the page (and its peers) expect it.
async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

// One realmd process on fixed ports (clients, peers, web), restartable.
class Realm {
  constructor(name, yaml) {
    this.name = name;
    this.dir = mkdtempSync(join(workDir, `${name}-`));
    this.log = join(this.dir, 'realmd.log');
    this.yaml = yaml;
  }

  async choosePorts() {
    this.clientPort = await freePort();
    this.peerPort = await freePort();
    this.webPort = await freePort();
    this.url = `http://127.0.0.1:${this.webPort}/`;
  }

  async start() {
    writeFileSync(join(this.dir, 'realm.yaml'), this.yaml(this));
    this.process = spawn(join(binDir, 'realmd'), ['--config', join(this.dir, 'realm.yaml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    this.process.stderr.on('data', (chunk) => {
      log += chunk;
      writeFileSync(this.log, log);
    });
    this.exited = new Promise((resolve) => this.process.on('exit', resolve));
    // "clients on" is logged last, once the realm is up.
    await eventually(`realm ${this.name} to start (log: ${this.log})`,
                     () => /clients on 127\.0\.0\.1:/.test(log));
  }

  // SIGKILL: the crash case.
  async kill() {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    await this.exited;
  }

  logText() {
    try {
      return readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }
}

// A client of the line protocol (docs/contract.md §1) for the other side of a conversation.
class LineClient {
  constructor(port) {
    this.port = port;
    this.buffer = '';
    this.waiting = [];
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.socket = connect(this.port, '127.0.0.1', resolve);
      this.socket.once('error', reject);
      this.socket.setEncoding('utf8');
      this.socket.on('data', (chunk) => {
        this.buffer += chunk;
        let end;
        while ((end = this.buffer.indexOf('\r\n\r\n')) >= 0) {
          const reply = JSON.parse(this.buffer.slice(0, end));
          this.buffer = this.buffer.slice(end + 4);
          if (!('event' in reply)) this.waiting.shift()?.(reply);
        }
      });
    });
  }

  request(line) {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(`${line}\n`);
    });
  }

  // Sends `line`; throws unless the reply is OK (and, when given, has `message`).
  async expect(line, message) {
    const reply = await this.request(line);
    check(reply.status === 'OK' && (!message || reply.message === message),
          `${line}: got ${JSON.stringify(reply)}`);
    return reply;
  }

  close() {
    this.socket?.destroy();
  }
}

async function lineClient(realm, user, password) {
  const client = new LineClient(realm.clientPort);
  await client.connect();
  await client.expect(`auth ${user} ${password}`);
  return client;
}

function realmYaml(name, {peers = () => '', users = ''} = {}) {
  return (realm) => `realm:
  name: ${name}
  listen: 127.0.0.1:${realm.clientPort}
  peer_listen: 127.0.0.1:${realm.peerPort}
  web_listen: 127.0.0.1:${realm.webPort}
  data_dir: ${join(realm.dir, 'data')}
federation:
  secret: browser-test-secret
${peers()}${users}password_cost: min
`;
}

// A page of the browser client, with the checks this test makes on it.
class ChatPage {
  constructor(page, label) {
    this.page = page;
    this.label = label;
    this.consoleErrors = [];
    page.on('console', (message) => {
      // A realm that is down refuses the page's redials: the browser logs each one.
      const refused = /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(message.text());
      if (message.type() === 'error' && !refused) this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.consoleErrors.push(error.message));
  }

  async open(url) {
    await this.page.goto(url);
    await this.page.locator('#link.up').waitFor({timeout: deadline});
    await this.markNotReloaded();
  }

  // A mark that a reload would wipe: messages must arrive without one.
  async markNotReloaded() {
    await this.page.evaluate(() => {
      window.notReloaded = true;
    });
  }

  async conversationLabels() {
    return (await this.text('#conversations li .label'));
  }

  async login(username, password) {
    const form = this.page.locator('#login-form');
    await form.locator('[name=username]').fill(username);
    await form.locator('[name=password]').fill(password);
    await form.locator('button').click();
    await this.page.locator('#chat-view').waitFor({state: 'visible', timeout: deadline});
  }

  async register(username, password, nama, negara) {
    const form = this.page.locator('#register-form');
    await form.locator('[name=username]').fill(username);
    await form.locator('[name=password]').fill(password);
    await form.locator('[name=nama]').fill(nama);
    await form.locator('[name=negara]').fill(negara);
    await form.locator('button').click();
    await this.page.locator('#chat-view').waitFor({state: 'visible', timeout: deadline});
  }

  async openConversation(kind, target) {
    const form = this.page.locator('#new-form');
    await form.locator('[name=kind]').selectOption(kind);
    await form.locator('[name=target]').fill(target);
    await form.locator('button[value=open]').click();
  }

  async send(text) {
    await this.page.locator('#compose [name=text]').fill(text);
    await this.page.locator('#compose button').click();
  }

  text(selector) {
    return this.page.locator(selector).allInnerTexts();
  }

  async errorBanner() {
    const banner = this.page.locator('#error');
    return (await banner.isVisible()) ? banner.innerText() : '';
  }

  async expectNoError(what) {
    const banner = await this.errorBanner();
    check(banner === '', `${this.label}: no error after ${what}, got "${banner}"`);
  }

  // Waits until the conversation list shows `label` and the messages of the selected
  // conversation (selected by clicking it) hold `text`.
  async expectMessage(label, text) {
    const entry = this.page.locator('#conversations li', {hasText: label});
    await entry.first().waitFor({timeout: deadline});
    await entry.first().click();
    await eventually(`${this.label} to show "${text}" from ${label}`, async () =>
      (await this.text('#messages li .text')).includes(text));
    check(await this.page.evaluate(() => window.notReloaded === true),
          `${this.label}: the page was not reloaded`);
  }
}

async function step(name, body) {
  process.stdout.write(`- ${name} ... `);
  try {
    await body();
    console.log('ok');
  } catch (error) {
    failures += 1;
    console.log('FAILED');
    console.log(`  ${error.stack || error}`);
    throw error;
  }
}

const users = (entries) =>
  `users:\n${entries.map(([name, password]) =>
    `  - {username: ${name}, password: "${password}", nama: ${name}_x, negara: somewhere}\n`).join('')}`;
// alpha dials beta (linked); gamma dials alpha (alpha names it with autoconnect: false, so it
// is linked only while gamma is up); delta is alpha's idle peer: named, never dialled, and
// getrealminbox refuses it (Realm tidak ditemukan).
const beta = new Realm('beta', realmYaml('beta', {users: users([['jokowi', '123']])}));
const alpha = new Realm('alpha', realmYaml('alpha', {
  peers: () => `peers:
  - {name: beta, address: 127.0.0.1:${beta.peerPort}}
  - {name: gamma, address: 127.0.0.1:${gamma.peerPort}, autoconnect: false}
  - {name: delta, address: 127.0.0.1:${deltaPort}, autoconnect: false}
`,
  users: users([['messi', 'surabaya'], ['henderson', 'surabaya'], ['lineker', 'surabaya']]),
}));
const gamma = new Realm('gamma', realmYaml('gamma', {
  peers: () => `peers:\n  - {name: alpha, address: 127.0.0.1:${alpha.peerPort}}\n`,
  users: users([['pele', 'santos']]),
}));
const realms = [alpha, beta, gamma];
let deltaPort;
let browser;
const pages = {};
const clients = [];
const jakarta = 'Asia/Jakarta';  // UTC+7: local time differs from UTC by 7 hours

// The page's clock for `iso` in Jakarta ("HH:MM", after the date when not today).
function jakartaClock(iso) {
  return new Intl.DateTimeFormat('en-GB', {timeZone: jakarta, hour: '2-digit', minute: '2-digit',
                                           hourCycle: 'h23'}).format(new Date(iso));
}

try {
  await step('start realm beta, realm alpha linked to it, realm gamma dialling alpha', async () => {
    for (const realm of realms) await realm.choosePorts();
    deltaPort = await freePort();
    await beta.start();
    await alpha.start();
    await gamma.start();
  });

  await step('launch Chromium (Debian) through playwright-core', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      chromiumSandbox: false,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    for (const name of ['alpha', 'beta', 'lineker']) {
      const context = await browser.newContext({
        viewport: {width: 1100, height: 640},
        timezoneId: name === 'lineker' ? jakarta : undefined,
      });
      pages[name] = new ChatPage(await context.newPage(), name);
    }
  });

  await step('each realm serves the page and its WebSocket', async () => {
    await pages.alpha.open(alpha.url);
    await pages.beta.open(beta.url);
    check((await pages.alpha.page.title()) === 'realmchat', 'the page title');
  });

  await step('a wrong password shows the realm\'s error in the banner', async () => {
    const form = pages.alpha.page.locator('#login-form');
    await form.locator('[name=username]').fill('messi');
    await form.locator('[name=password]').fill('wrong');
    await form.locator('button').click();
    await eventually('the error banner', async () =>
      (await pages.alpha.errorBanner()) === 'Password Salah');
  });

  await step('messi logs in on alpha, ronaldo registers on beta', async () => {
    await pages.alpha.login('messi', 'surabaya');
    await pages.beta.register('ronaldo', 'lisboa', 'Cristiano_Ronaldo', 'Portugal');
    check((await pages.alpha.text('#whoami'))[0] === 'messi@alpha', 'alpha: whoami');
    check((await pages.beta.text('#whoami'))[0] === 'ronaldo@beta', 'beta: whoami');
    await pages.alpha.expectNoError('login');
    await pages.beta.expectNoError('register');
  });

  await step('the realms panel shows the link', async () => {
    await eventually('alpha to list beta as linked', async () => {
      await pages.alpha.page.locator('#refresh-realms').click();
      return (await pages.alpha.text('#realms li')).includes('beta — linked');
    });
  });

  await step('messi sends to ronaldo@beta (sendprivaterealm); it appears live on beta', async () => {
    await pages.alpha.openConversation('user', 'ronaldo@beta');
    await pages.alpha.send('Hola Cristiano, from alpha!');
    await eventually('alpha to show its sent message', async () =>
      (await pages.alpha.text('#messages li .text')).includes('Hola Cristiano, from alpha!'));
    await pages.alpha.expectNoError('sendprivaterealm');
    await pages.beta.expectMessage('messi@alpha', 'Hola Cristiano, from alpha!');
  });

  await step('ronaldo answers in that conversation; it appears live on alpha', async () => {
    await pages.beta.send('Obrigado Leo! Greetings from beta.');
    await pages.beta.expectNoError('the answer');
    await pages.alpha.expectMessage('ronaldo@beta', 'Obrigado Leo! Greetings from beta.');
    const tags = await pages.alpha.text('#messages li .realm-tag');
    check(tags.includes('beta'), `alpha marks beta's message with its realm, got ${tags}`);
  });

  await step(`screenshot of alpha's page: ${screenshotPath}`, async () => {
    await pages.alpha.page.screenshot({path: screenshotPath});
  });

  await step('a send to a user beta does not have: Realm/User tidak ditemukan, not kept', async () => {
    await pages.alpha.openConversation('user', 'nobody@beta');
    await pages.alpha.send('anyone there?');
    await eventually('the error banner', async () =>
      (await pages.alpha.errorBanner()) === 'Realm/User tidak ditemukan');
    await eventually('the empty conversation to be dropped', async () =>
      !(await pages.alpha.conversationLabels()).includes('nobody@beta'));
  });

  await step('a conversation with a user alpha does not have is refused and not listed', async () => {
    await pages.alpha.openConversation('user', 'ghost');
    await eventually('the error banner', async () =>
      (await pages.alpha.errorBanner()) === 'User tidak ditemukan');
    check(!(await pages.alpha.conversationLabels()).includes('ghost'), 'ghost is not listed');
  });

  await step('messages wait for lineker: from alpha (60 read elsewhere, 1 not), linked beta and gamma, which then stops', async () => {
    const henderson = await lineClient(alpha, 'henderson', 'surabaya');
    const jokowi = await lineClient(beta, 'jokowi', '123');
    const pele = await lineClient(gamma, 'pele', 'santos');
    clients.push(henderson, jokowi, pele);
    for (let page = 1; page <= 60; page += 1) {
      await henderson.expect(`send lineker page ${page}`, 'Message sent');
    }
    // Read elsewhere (another device): only history still has them.
    const elsewhere = await lineClient(alpha, 'lineker', 'surabaya');
    check(Object.keys((await elsewhere.expect('inbox')).messages).length === 1, 'read elsewhere');
    elsewhere.close();
    await henderson.expect('send lineker from henderson', 'Message sent');
    await jokowi.expect('sendprivaterealm alpha lineker from jokowi', 'Message sent to user in realm');
    // gamma dials alpha; once linked the message is delivered at once, not queued.
    await eventually('gamma to deliver to alpha', async () =>
      (await pele.request('sendprivaterealm alpha lineker from pele')).message ===
        'Message sent to user in realm');
    pele.close();
    await gamma.stop();
  });

  await step('lineker logs in: every waiting message is shown, the idle peer stops nothing', async () => {
    await pages.lineker.open(alpha.url);
    await pages.lineker.login('lineker', 'surabaya');
    await eventually('the three conversations', async () => {
      const labels = await pages.lineker.conversationLabels();
      return ['henderson', 'jokowi@beta', 'pele@gamma'].every((label) => labels.includes(label));
    });
    await pages.lineker.expectNoError('login with an idle peer (delta)');
    const badges = await pages.lineker.text('#conversations li .badge');
    check(badges.length >= 2, `unread counts on the conversations not shown, got ${badges}`);
    await pages.lineker.expectMessage('pele@gamma', 'from pele');
    await pages.lineker.expectMessage('jokowi@beta', 'from jokowi');
    await pages.lineker.expectMessage('henderson', 'from henderson');
  });

  await step('times are the browser\'s local time (Asia/Jakarta here), not UTC', async () => {
    const time = pages.lineker.page.locator('#messages li time').last();
    const iso = await time.getAttribute('datetime');
    const shown = await time.innerText();
    check(shown.endsWith(jakartaClock(iso)), `${iso} shown as "${shown}", want ${jakartaClock(iso)}`);
  });

  await step('scrolling up pages back through history', async () => {
    const count = () => pages.lineker.page.locator('#messages li:not(.older)').count();
    // The inbox brought the newest; the latest history page (50) loads beside it.
    await eventually('the latest page of 50 messages', async () => (await count()) === 50);
    check(await pages.lineker.page.locator('#messages li.older').isVisible(),
          'the list says there is more above');
    await eventually('older pages to load', async () => {
      await pages.lineker.page.locator('#messages').evaluate((list) => {
        list.scrollTop = 0;
        list.dispatchEvent(new Event('scroll'));
      });
      return (await count()) === 61;
    });
    const texts = await pages.lineker.text('#messages li .text');
    check(texts[0] === 'page 1' && texts[60] === 'from henderson', `in order: ${texts[0]}…${texts[60]}`);
  });

  await step('a reload brings back the conversations and their history', async () => {
    await pages.lineker.page.reload();
    await pages.lineker.page.locator('#chat-view').waitFor({state: 'visible', timeout: deadline});
    await pages.lineker.markNotReloaded();
    await eventually('the conversations after the reload', async () => {
      const labels = await pages.lineker.conversationLabels();
      return ['henderson', 'jokowi@beta', 'pele@gamma'].every((label) => labels.includes(label));
    });
    await pages.lineker.expectMessage('jokowi@beta', 'from jokowi');
    await pages.lineker.expectMessage('pele@gamma', 'from pele');
    await pages.lineker.expectNoError('the reload');
  });

  await step('a dropped WebSocket: the page reconnects and resumes its session by token', async () => {
    const henderson = clients[0];
    await pages.lineker.page.evaluate(() => state.connection.socket.close());
    await henderson.expect('send lineker sent while the page was away', 'Message sent');
    await pages.lineker.page.locator('#link.up').waitFor({timeout: deadline});
    await pages.lineker.expectMessage('henderson', 'sent while the page was away');
    check(await pages.lineker.page.locator('#chat-view').isVisible(), 'no login asked for');
    await pages.lineker.expectNoError('the resume');
    // Live again (pushed, or polled where the realm cannot push to a resumed session).
    await henderson.expect('send lineker and now live again', 'Message sent');
    await pages.lineker.expectMessage('henderson', 'and now live again');
  });

  await step('alpha is killed and restarted: the page reconnects, a message sent meanwhile appears', async () => {
    await alpha.kill();
    await eventually('the page to say it reconnects', async () =>
      (await pages.lineker.text('#link'))[0].includes('reconnecting'));
    const jokowi = clients[1];
    const sent = await jokowi.request('sendprivaterealm alpha lineker sent while alpha was down');
    check(sent.status === 'OK', `jokowi's send: ${JSON.stringify(sent)}`);
    await alpha.start();
    await pages.lineker.page.locator('#link.up').waitFor({timeout: deadline});
    // Sessions are stored: the token still works after the restart, no login is asked for.
    await pages.lineker.expectMessage('jokowi@beta', 'sent while alpha was down');
    check(await pages.lineker.page.locator('#chat-view').isVisible(), 'the session resumed');
    check(!(await pages.lineker.errorBanner()).includes('please log in again'), 'no login asked');
  });

  await step('360 px wide: the conversation and its compose box are in view', async () => {
    const page = pages.lineker.page;
    await page.setViewportSize({width: 360, height: 640});
    await pages.lineker.expectMessage('henderson', 'from henderson');
    for (const selector of ['#compose', '#compose input', '#compose button', '#messages']) {
      const box = await page.locator(selector).boundingBox();
      check(box && box.width > 0 && box.height > 0, `${selector} is shown`);
      check(box.x >= 0 && box.y >= 0 && box.x + box.width <= 360 && box.y + box.height <= 640,
            `${selector} lies within the 360x640 viewport: ${JSON.stringify(box)}`);
    }
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `no sideways scrolling, the page is ${width} px wide`);
    await page.screenshot({path: screenshotPath.replace(/\.png$/, '-360.png')});
  });

  await step('no script errors on any page', async () => {
    for (const page of Object.values(pages)) {
      check(page.consoleErrors.length === 0, `${page.label}: ${page.consoleErrors.join('; ')}`);
    }
  });
} catch {
  for (const realm of realms) console.log(`--- ${realm.name} log ---\n${realm.logText()}`);
} finally {
  for (const client of clients) client.close();
  if (browser) await browser.close();
  for (const realm of realms) await realm.stop();
}

if (failures === 0) {
  for (const realm of realms) rmSync(realm.dir, {recursive: true, force: true});
}
console.log(failures === 0 ? 'browser test: passed' : 'browser test: FAILED');
process.exit(failures === 0 ? 0 : 1);
