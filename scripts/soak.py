#!/usr/bin/env python3
"""The load of scripts/soak.sh: drives running realms with a mix of local, cross-realm and group
messages over pipelined connections, reads every inbox as it goes (so unread messages do not pile
up in memory), samples each realmd's RSS, and at the end counts what arrived.

Every message text is unique; a message answered OK (or "queued") is expected once in its
recipient's inbox, a group message once in each other member's. Prints one JSON line with the
counts (sent / accepted / delivered / lost / duplicated), the throughput and the RSS samples, and
exits 1 if anything accepted was lost or duplicated, or any request failed.
"""
import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections import Counter, deque

REPLY_END = b"\r\n\r\n"
OK = b'{"status":"OK"'
MSG_TEXT = re.compile(rb'"msg":"([^"]*)"')
EMPTY_INBOX = b'"messages":{}'
PASSWORD = "soakpw"
GROUP = "soak"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Connection:
    """One pipelined client connection; replies are matched to requests in order."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.handlers = deque()
        self.reading = None

    @classmethod
    async def open(cls, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        connection = cls(reader, writer)
        connection.reading = asyncio.create_task(connection.read_replies())
        return connection

    async def read_replies(self):
        while True:
            reply = await self.reader.readuntil(REPLY_END)
            self.handlers.popleft()(reply[: -len(REPLY_END)])

    def send(self, line, handler):
        self.handlers.append(handler)
        self.writer.write(line.encode() + b"\n")

    async def request(self, line):
        done = asyncio.get_running_loop().create_future()
        self.send(line, done.set_result)
        return await done

    async def close(self):
        self.reading.cancel()
        self.writer.close()


class Soak:
    def __init__(self, args):
        self.args = args
        self.realms = dict(spec.split("=") for spec in args.realm)  # name -> client port
        self.pids = dict(spec.split("=") for spec in args.pid)  # name -> realmd pid
        self.users = [f"u{i}" for i in range(args.users)]
        self.members = self.users[: args.group_size]
        self.expected = Counter()  # text -> deliveries promised
        self.received = Counter()  # text -> copies found in inboxes
        self.sent = 0
        self.accepted = 0
        self.errors = []
        self.rss = []  # (label, {realm: KiB})
        self.next_sample = args.warmup  # messages sent at the next RSS sample
        self.warm_at = 0.0
        self.warm_sent = 0
        self.random = random.Random(args.seed)

    def sample(self, label):
        self.rss.append((label, {name: rss_kib(int(pid)) for name, pid in self.pids.items()}))
        print(f"soak: {label}: RSS KiB {self.rss[-1][1]}", file=sys.stderr, flush=True)

    async def set_up(self):
        for name, port in self.realms.items():
            connection = await Connection.open(port)
            for user in self.users:
                reply = await connection.request(f"register {user} {PASSWORD} {user}_N X")
                if not (reply.startswith(OK) or b"User sudah ada" in reply):
                    raise RuntimeError(f"{name}: register {user}: {reply!r}")
            await connection.close()
            for index, user in enumerate(self.members):
                member = await Connection.open(port)
                await member.request(f"auth {user} {PASSWORD}")
                reply = await member.request(("addgroup " if index == 0 else "joingroup ") + GROUP)
                if not (reply.startswith(OK) or b"sudah" in reply):
                    raise RuntimeError(f"{name}: {user} joining {GROUP}: {reply!r}")
                await member.close()

    def take_inbox(self, reply):
        if not reply.startswith(OK):
            self.errors.append(reply.decode(errors="replace"))
            return
        for text in MSG_TEXT.findall(reply):
            self.received[text.decode()] += 1

    def next_request(self, realm, user, text):
        """A request from `user` of `realm` and the deliveries it promises if accepted."""
        roll = self.random.random()
        if roll < self.args.group_share and user in self.members:
            return f"sendgroup {GROUP} {text}", len(self.members) - 1
        others = [name for name in self.realms if name != realm]
        recipient = self.random.choice(self.users)
        if roll < self.args.group_share + self.args.cross_share and others:
            return f"sendprivaterealm {self.random.choice(others)} {recipient} {text}", 1
        return f"send {recipient} {text}", 1

    async def drain(self, connection, realm):
        """Reads the connection's user's inboxes once (every source realm)."""
        requests = ["inbox"] + [f"getrealminbox {name}" for name in self.realms if name != realm]
        for line in requests:
            connection.send(line, self.take_inbox)

    async def client(self, realm, user, quota):
        connection = await Connection.open(self.realms[realm])
        reply = await connection.request(f"auth {user} {PASSWORD}")
        if not reply.startswith(OK):
            raise RuntimeError(f"{realm}: auth {user}: {reply!r}")
        window = asyncio.Semaphore(self.args.pipeline)
        for number in range(quota):
            await window.acquire()
            text = f"{realm}.{user}.{number}"
            line, deliveries = self.next_request(realm, user, text)

            def answered(reply, text=text, deliveries=deliveries, line=line):
                window.release()
                if reply.startswith(OK):
                    self.accepted += 1
                    self.expected[text] += deliveries
                else:
                    self.errors.append(f"{line} -> {reply.decode(errors='replace')}")

            connection.send(line, answered)
            self.sent += 1
            if number % self.args.drain_every == self.args.drain_every - 1:
                await self.drain(connection, realm)
                await connection.writer.drain()
            if self.sent >= self.next_sample:
                self.sample_progress()
        await connection.request("realms")  # every reply before it has come
        await connection.close()

    def sample_progress(self):
        warm_up_done = self.next_sample == self.args.warmup
        self.sample("after warm-up" if warm_up_done else f"at {self.sent}")
        if warm_up_done:
            self.warm_at = time.monotonic()
            self.warm_sent = self.sent
        self.next_sample += self.args.messages // 10

    async def outboxes_empty(self):
        for name, port in self.realms.items():
            connection = await Connection.open(port)
            await connection.request(f"auth {self.users[0]} {PASSWORD}")
            reply = await connection.request("realms")
            await connection.close()
            if re.search(rb'"queued":[1-9]', reply) or b'"state":"linked"' not in reply:
                return False
        return True

    async def final_drain(self):
        for realm, port in self.realms.items():
            for user in self.users:
                connection = await Connection.open(port)
                await connection.request(f"auth {user} {PASSWORD}")
                sources = ["inbox"] + [f"getrealminbox {n}" for n in self.realms if n != realm]
                for line in sources:
                    while True:
                        reply = await connection.request(line)
                        self.take_inbox(reply)
                        if EMPTY_INBOX in reply:
                            break
                await connection.close()

    async def run(self):
        await self.set_up()
        self.sample("start")
        clients = [(realm, user) for realm in self.realms for user in self.users]
        quota, extra = divmod(self.args.messages, len(clients))
        started = time.monotonic()
        await asyncio.gather(
            *(self.client(realm, user, quota + (1 if i < extra else 0))
              for i, (realm, user) in enumerate(clients)))
        finished = time.monotonic()
        deadline = time.monotonic() + 120
        while not await self.outboxes_empty():
            if time.monotonic() > deadline:
                self.errors.append("outboxes not drained within 120 s")
                break
            await asyncio.sleep(0.2)
        self.sample("end")
        await self.final_drain()

        lost = sum(max(0, want - self.received[text]) for text, want in self.expected.items())
        duplicated = sum(max(0, got - self.expected[text]) for text, got in self.received.items())
        delivered = sum(min(want, self.received[text]) for text, want in self.expected.items())
        warm, end = self.rss[1][1], self.rss[-1][1]
        growth = {name: round(100.0 * (end[name] - warm[name]) / warm[name], 1) for name in warm}
        result = {
            "soak": "realmchat",
            "sent": self.sent,
            "accepted": self.accepted,
            "deliveries_expected": sum(self.expected.values()),
            "delivered": delivered,
            "lost": lost,
            "duplicated": duplicated,
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else "",
            "seconds": round(finished - started, 1),
            "messages_per_s": round(self.sent / (finished - started)),
            "after_warmup_messages_per_s": round(
                (self.sent - self.warm_sent) / (finished - self.warm_at)),
            "rss_kib": {label: sample for label, sample in self.rss},
            "rss_growth_after_warmup_percent": growth,
        }
        print(f"sent={self.sent} delivered={delivered} lost={lost} duplicated={duplicated}")
        print(json.dumps(result))
        return 0 if lost == 0 and duplicated == 0 and not self.errors else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realm", action="append", required=True, help="NAME=CLIENT_PORT")
    parser.add_argument("--pid", action="append", required=True, help="NAME=REALMD_PID")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=100_000, help="messages before the RSS baseline")
    parser.add_argument("--users", type=int, default=20, help="users per realm, one connection each")
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--pipeline", type=int, default=32, help="requests in flight per connection")
    parser.add_argument("--drain-every", type=int, default=50, help="requests between inbox reads")
    parser.add_argument("--group-share", type=float, default=0.2)
    parser.add_argument("--cross-share", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=1)
    return asyncio.run(Soak(parser.parse_args()).run())


if __name__ == "__main__":
    sys.exit(main())
