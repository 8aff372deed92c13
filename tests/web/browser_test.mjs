// The browser test: two real realmd processes (alpha dials beta), each serving the browser
// client; Debian's Chromium, driven by playwright-core, opens one page per realm, logs in on
// alpha and registers on beta, and the two users talk across the realms. Messages must appear
// live (pushed through `watch`, no reload), errors in the red banner.
//   node browser_test.mjs BIN_DIR WORK_DIR SCREENSHOT_PNG PLAYWRIGHT_CORE_DIR
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
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

// One realmd process on ports chosen by the system; its log tells which.
class Realm {
  constructor(name, yaml) {
    this.name = name;
    this.dir = mkdtempSync(join(workDir, `${name}-`));
    this.log = join(this.dir, 'realmd.log');
    writeFileSync(join(this.dir, 'realm.yaml'), yaml(this.dir));
  }

  async start() {
    this.process = spawn(join(binDir, 'realmd'), ['--config', join(this.dir, 'realm.yaml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    this.process.stderr.on('data', (chunk) => {
      log += chunk;
      writeFileSync(this.log, log);
    });
    this.exited = new Promise((resolve) => this.process.on('exit', resolve));
    const port = (what) => log.match(new RegExp(`${what} on 127\\.0\\.0\\.1:(\\d+)`))?.[1];
    // "clients on" is logged last, once the realm is up.
    await eventually(`realm ${this.name} to start (log: ${this.log})`, () => port('clients'));
    this.peerPort = Number(port('peers'));
    this.webPort = Number(port('web clients'));
    this.url = `http://127.0.0.1:${this.webPort}/`;
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
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

function realmYaml(name, {peers = '', users = ''} = {}) {
  return (dir) => `realm:
  name: ${name}
  listen: 127.0.0.1:0
  peer_listen: 127.0.0.1:0
  web_listen: 127.0.0.1:0
  data_dir: ${join(dir, 'data')}
federation:
  secret: browser-test-secret
${peers}${users}password_cost: min
`;
}

// A page of the browser client, with the checks this test makes on it.
class ChatPage {
  constructor(page, label) {
    this.page = page;
    this.label = label;
    this.consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.consoleErrors.push(error.message));
  }

  async open(url) {
    await this.page.goto(url);
    await this.page.locator('#link.up').waitFor({timeout: deadline});
    // A mark that a reload would wipe: messages must arrive without one.
    await this.page.evaluate(() => {
      window.notReloaded = true;
    });
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

const beta = new Realm('beta', realmYaml('beta', {
  users: 'users:\n  - {username: jokowi, password: "123", nama: joko_widodo, negara: indonesia}\n',
}));
let alpha;
let browser;
const pages = {};

try {
  await step('start realm beta, then realm alpha linked to it', async () => {
    await beta.start();
    alpha = new Realm('alpha', realmYaml('alpha', {
      peers: `peers:\n  - {name: beta, address: 127.0.0.1:${beta.peerPort}}\n`,
      users: 'users:\n  - {username: messi, password: surabaya, nama: Lionel_Messi, negara: Argentina}\n',
    }));
    await alpha.start();
  });

  await step('launch Chromium (Debian) through playwright-core', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      chromiumSandbox: false,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    for (const name of ['alpha', 'beta']) {
      const context = await browser.newContext({viewport: {width: 1100, height: 640}});
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

  await step('a send to a user beta does not have shows Realm/User tidak ditemukan', async () => {
    await pages.alpha.openConversation('user', 'nobody@beta');
    await pages.alpha.send('anyone there?');
    await eventually('the error banner', async () =>
      (await pages.alpha.errorBanner()) === 'Realm/User tidak ditemukan');
  });

  await step('no script errors on either page', async () => {
    for (const page of Object.values(pages)) {
      check(page.consoleErrors.length === 0, `${page.label}: ${page.consoleErrors.join('; ')}`);
    }
  });
} catch {
  for (const realm of [alpha, beta]) {
    if (realm) console.log(`--- ${realm.name} log ---\n${realm.logText()}`);
  }
} finally {
  if (browser) await browser.close();
  for (const realm of [alpha, beta]) if (realm) await realm.stop();
}

if (failures === 0) {
  for (const realm of [alpha, beta]) rmSync(realm.dir, {recursive: true, force: true});
}
console.log(failures === 0 ? 'browser test: passed' : 'browser test: FAILED');
process.exit(failures === 0 ? 0 : 1);
