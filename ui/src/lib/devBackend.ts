// An in-memory Backend with sample Vietnamese data, for `vite dev` in a plain
// browser (no Tauri). Only main.ts imports it, behind `import.meta.env.DEV`,
// so it never reaches a production build.
//
// Pages are SVG placeholders drawn with a fixed advance per character, and
// the character boxes are computed from the same layout, so text selection,
// highlights and search boxes line up as they will with real PDFs.
//
// URL parameters: `?joined=1` starts paired; `?offline=1` starts offline.
// Invite codes: PH1-DEMO joins; PH1-USED, PH1-DOWN, PH1-MITM give the
// invite_unknown, hub_unreachable and certificate_mismatch errors; anything
// not starting with PH1- is a bad_invite.
//
// Session (m-ky-hop-5 is in session with 50 voting members): `?role=chair`
// makes me the chair (console, "Trình chiếu trang này"); `?poll=open` starts
// with a named vote open (ballots from others arrive every second);
// `?poll=secret` the same as a secret ballot. My ballots wait 1.5 s before
// they are counted, or stay "not yet counted" with `?offline=1`.
//
// Outbox: a note over 16,384 bytes is refused before it is saved, as on a
// device; with `?refuse=1` the "hub" refuses every annotation change, which
// then shows as refused with the reason until dismissed.

import {
  BackendError,
  type AgendaItem,
  type AnnotationView,
  type AppStatus,
  type Backend,
  type BackendEventName,
  type BackendEvents,
  type Box,
  type CommandState,
  type OutboxItem,
  type SetAsideEntry,
  type MajorityRule,
  type PollView,
  type QuorumOverrideView,
  type Role,
  type SessionAction,
  type SessionView,
  type SpeakerView,
  type Threshold,
  type MeetingDetail,
  type LockStatus,
  type MeetingSummary,
  type Minutes,
  type PaperPages,
  type SearchHit,
  type TextPage,
  type Unsubscribe,
} from "./backend";

const W = 595;
const H = 842;
const FONT = 12;
const ADV = 7.2; // points per character
const LEFT = 72;
const TOP = 90;
const LEADING = 19;
const COLS = 62;
const LINES_PER_PAGE = 34;

const SENTENCES = [
  "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
  "Căn cứ Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015;",
  "Xét Tờ trình số 45/TTr-UBND của Ủy ban nhân dân tỉnh về dự toán ngân sách năm 2027;",
  "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách Hội đồng nhân dân tỉnh và ý kiến thảo luận của đại biểu Hội đồng nhân dân tỉnh tại kỳ họp.",
  "Tổng thu ngân sách nhà nước trên địa bàn tỉnh ước đạt 12.450 tỷ đồng, tăng 8,5% so với dự toán được giao.",
  "Chi đầu tư phát triển tập trung cho giao thông nông thôn, trường học và trạm y tế xã ở vùng sâu, vùng xa.",
  "Đề nghị Hội đồng nhân dân tỉnh xem xét, thông qua Nghị quyết về dự toán thu, chi ngân sách địa phương năm 2027.",
  "Ủy ban nhân dân tỉnh chịu trách nhiệm tổ chức thực hiện Nghị quyết này và báo cáo kết quả tại kỳ họp cuối năm.",
  "Thường trực Hội đồng nhân dân, các Ban và đại biểu Hội đồng nhân dân tỉnh giám sát việc thực hiện Nghị quyết.",
  "Nguồn cải cách tiền lương còn dư được bố trí cho các nhiệm vụ chi thường xuyên phát sinh trong năm.",
];

function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > COLS) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Lines of one page: a heading, then sentences picked by a seed. */
function pageLines(title: string, pageNo: number, seed: number): string[] {
  const lines = [...wrap(title.toUpperCase()), `Trang ${pageNo + 1}`, ""];
  let i = seed + pageNo * 3;
  while (lines.length < LINES_PER_PAGE) {
    const s = SENTENCES[i++ % SENTENCES.length] ?? "";
    lines.push(...wrap(s), "");
  }
  return lines.slice(0, LINES_PER_PAGE);
}

function layout(lines: string[]): TextPage {
  let text = "";
  const boxes: Box[] = [];
  lines.forEach((line, n) => {
    const base = TOP + n * LEADING; // baseline, from the top
    const b = H - (base + 3);
    const t = H - (base - 10);
    [...line].forEach((_, k) => {
      const x = LEFT + k * ADV;
      boxes.push([x, b, x + ADV, t]);
    });
    text += line;
    if (n < lines.length - 1) {
      text += "\n";
      const x = LEFT + line.length * ADV;
      boxes.push([x, b, x, b]);
    }
  });
  return { width: W, height: H, text, boxes };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function pageSvg(lines: string[], widthPx: number): string {
  const texts = lines
    .map((line, n) =>
      line
        ? `<text x="${LEFT}" y="${TOP + n * LEADING}" textLength="${(line.length * ADV).toFixed(1)}" lengthAdjust="spacingAndGlyphs">${escapeXml(line)}</text>`
        : "",
    )
    .join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.round(widthPx)}" height="${Math.round((widthPx * H) / W)}" viewBox="0 0 ${W} ${H}">` +
    `<rect width="${W}" height="${H}" fill="#fffdf8"/>` +
    `<g font-family="DejaVu Sans, sans-serif" font-size="${FONT}" fill="#1d1d1d" xml:space="preserve">${texts}</g>` +
    `</svg>`;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

function fold(s: string): string {
  return s.normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
}

interface DevPaper {
  meetingId: string;
  id: string;
  title: string;
  pages: string[][];
  sha256: string;
}

const HOUR = 3_600_000;

const SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"];
const MIDDLE = ["Văn", "Thị", "Minh", "Thanh", "Quốc", "Ngọc", "Hữu", "Thu"];
const GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Khánh", "Lan", "Long", "Mai", "Nam", "Phong", "Quang", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến"];

interface DevPoll {
  id: string;
  item: string | null;
  question: string;
  options: string[];
  secret: boolean;
  rule: MajorityRule;
  status: PollView["status"];
  eligible: string[];
  ballots: Map<string, number>;
  presentAtOpen: number;
  outcome: PollView["outcome"];
}

interface DevSession {
  status: SessionView["status"];
  currentItem: string | null;
  chairFocus: SessionView["chairFocus"];
  people: { id: string; name: string; role: Role; present: boolean }[];
  speakers: SpeakerView[];
  polls: DevPoll[];
  /** My ballots as this device sent them. */
  mine: Map<string, { choice: number; state: "counted" | "pending" | "refused" }>;
  overrides: QuorumOverrideView[];
}

/** The law's quorum: at least two thirds of the voting members. */
function quorumOf(voters: number): number {
  return required({ kind: "at_least_two_thirds" }, voters);
}

function required(th: Threshold, base: number): number {
  const [n, d, strict] =
    th.kind === "more_than_half" ? [1, 2, true] : th.kind === "at_least_two_thirds" ? [2, 3, false] : [th.numerator, Math.max(1, th.denominator), th.strict];
  return strict ? Math.floor((n * base) / d) + 1 : Math.ceil((n * base) / d);
}

/** The core's rule applied to a tally (crates/core/src/vote.rs). */
function decide(p: DevPoll): NonNullable<PollView["outcome"]> {
  const counts = p.options.map((_, i) => [...p.ballots.values()].filter((c) => c === i).length);
  const cast = counts.reduce((a, b) => a + b, 0);
  const approve = counts[0] ?? 0;
  const baseCount = p.rule.base === "all_members" ? p.eligible.length : p.rule.base === "present" ? p.presentAtOpen : cast;
  const quorumMet = !p.rule.quorum || p.presentAtOpen >= required(p.rule.quorum, p.eligible.length);
  const req = required(p.rule.threshold, baseCount);
  return { passed: quorumMet && approve >= req, quorumMet, approve, baseCount, required: req, cast };
}

/** core::limits: note text, in UTF-8 bytes. */
const NOTE_TEXT_LIMIT = 16_384;

/** 16384 → "16,384", as the Rust side writes numbers in messages. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

export class DevBackend implements Backend {
  #status: AppStatus;
  #meetings: MeetingDetail[];
  #papers = new Map<string, DevPaper>();
  #annotations = new Map<string, AnnotationView>();
  #listeners = new Map<BackendEventName, Set<(p: unknown) => void>>();
  #sessions = new Map<string, DevSession>();
  #commands = new Map<string, CommandState>();
  /** Refused annotation changes not yet dismissed (`?refuse=1`), by command id. */
  #refused = new Map<string, { meetingId: string; annotation: AnnotationView; item: OutboxItem }>();
  #refuse: boolean;
  #role: Role;
  #pollParam: string | null;

  constructor(params: URLSearchParams) {
    const joined = params.get("joined") === "1";
    this.#status = {
      joined,
      hubUrl: joined ? "https://192.0.2.10:8443" : null,
      person: joined ? { id: "p1", name: "Nguyễn Thị Lan" } : null,
      connection: params.get("offline") === "1" ? "offline" : "online",
      sync: { bytesDone: 3_400_000, bytesTotal: 5_200_000, papersDone: 3, papersTotal: 4 },
    };
    this.#meetings = this.#sampleMeetings();
    this.#role = params.get("role") === "chair" ? "chair" : "delegate";
    this.#pollParam = params.get("poll");
    this.#refuse = params.get("refuse") === "1";
    setInterval(() => this.#tick(), 1000);
  }

  #paper(meetingId: string, id: string, title: string, pages: number, seed: number, extra: Partial<AgendaItem["papers"][number]["latest"]> = {}) {
    const sha256 = [...fold(id + meetingId)].map((c) => c.charCodeAt(0).toString(16)).join("").padEnd(64, "0").slice(0, 64);
    this.#papers.set(id, {
      meetingId,
      id,
      title,
      sha256,
      pages: Array.from({ length: pages }, (_, n) => pageLines(title, n, seed)),
    });
    const size = pages * 180_000;
    return {
      id,
      title,
      confidential: false,
      versions: 1,
      latest: { version: 1, sha256, pages, size, downloaded: true, bytesDone: size, ...extra },
    };
  }

  #sampleMeetings(): MeetingDetail[] {
    const now = Date.now();
    const body = "HĐND tỉnh Bình Minh";
    const m1 = "m-ky-hop-5";
    const toTrinh = this.#paper(m1, "d-to-trinh-45", "Tờ trình số 45/TTr-UBND về dự toán ngân sách năm 2027", 14, 2);
    toTrinh.versions = 2;
    toTrinh.latest.version = 2;
    const thamTra = this.#paper(m1, "d-tham-tra", "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách", 8, 5, {
      downloaded: false,
      bytesDone: 600_000,
    });
    thamTra.confidential = true;
    return [
      {
        id: m1,
        body,
        title: "Kỳ họp thứ 5 (kỳ họp chuyên đề)",
        startsAt: now - 2 * HOUR,
        place: "Hội trường A, Trụ sở HĐND tỉnh",
        status: "in_session",
        currentItem: "i2-1",
        deleteAt: null,
        lockAfterOfflineDays: null,
        locked: false,
        agenda: [
          {
            id: "i1",
            number: "1",
            depth: 0,
            title: "Khai mạc kỳ họp",
            presenter: "Chủ tọa kỳ họp",
            plannedMinutes: 10,
            papers: [this.#paper(m1, "d-chuong-trinh", "Chương trình kỳ họp thứ 5", 2, 0)],
          },
          { id: "i2", number: "2", depth: 0, title: "Báo cáo và tờ trình", presenter: "", plannedMinutes: 0, papers: [] },
          {
            id: "i2-1",
            number: "2.1",
            depth: 1,
            title: "Tờ trình về dự toán ngân sách địa phương năm 2027",
            presenter: "Phó Chủ tịch UBND tỉnh Trần Văn Minh",
            plannedMinutes: 30,
            papers: [toTrinh, this.#paper(m1, "d-du-thao-nq", "Dự thảo Nghị quyết về dự toán ngân sách năm 2027", 6, 6)],
          },
          {
            id: "i2-2",
            number: "2.2",
            depth: 1,
            title: "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách",
            presenter: "Trưởng Ban Kinh tế - Ngân sách Lê Thị Hoa",
            plannedMinutes: 20,
            papers: [thamTra],
          },
          {
            id: "i3",
            number: "3",
            depth: 0,
            title: "Thảo luận và biểu quyết thông qua Nghị quyết",
            presenter: "Chủ tọa kỳ họp",
            plannedMinutes: 45,
            papers: [],
          },
          { id: "i4", number: "4", depth: 0, title: "Bế mạc kỳ họp", presenter: "Chủ tọa kỳ họp", plannedMinutes: 10, papers: [] },
        ],
      },
      {
        id: "m-ky-hop-6",
        body,
        title: "Kỳ họp thứ 6 (kỳ họp thường lệ cuối năm)",
        startsAt: now + 9 * 24 * HOUR,
        place: "Hội trường A, Trụ sở HĐND tỉnh",
        status: "published",
        currentItem: null,
        deleteAt: null,
        lockAfterOfflineDays: null,
        locked: false,
        agenda: [
          {
            id: "j1",
            number: "1",
            depth: 0,
            title: "Báo cáo kết quả giám sát năm 2027",
            presenter: "Thường trực HĐND tỉnh",
            plannedMinutes: 40,
            papers: [this.#paper("m-ky-hop-6", "d-giam-sat", "Báo cáo kết quả giám sát", 4, 3)],
          },
        ],
      },
      {
        id: "m-ky-hop-4",
        body,
        title: "Kỳ họp thứ 4",
        startsAt: now - 60 * 24 * HOUR,
        place: "Hội trường B",
        status: "closed",
        currentItem: null,
        // A retention rule: deleted 5 days from now, locked after a week offline (here: locked).
        deleteAt: now + 5 * 24 * HOUR,
        lockAfterOfflineDays: 7,
        locked: true,
        agenda: [],
      },
    ];
  }

  #emit<E extends BackendEventName>(event: E, payload: BackendEvents[E]): void {
    for (const h of this.#listeners.get(event) ?? []) h(payload);
  }

  /** Simulated download of the one paper not yet on this device. */
  #tick(): void {
    if (!this.#status.joined || this.#status.connection === "offline") return;
    this.#sessionTick();
    for (const m of this.#meetings) {
      for (const item of m.agenda) {
        for (const p of item.papers) {
          const v = p.latest;
          if (v.downloaded) continue;
          v.bytesDone = Math.min(v.size, v.bytesDone + 90_000);
          this.#status.sync.bytesDone = Math.min(this.#status.sync.bytesTotal, this.#status.sync.bytesDone + 90_000);
          if (v.bytesDone >= v.size) {
            v.downloaded = true;
            this.#status.sync = { ...this.#status.sync, bytesDone: this.#status.sync.bytesTotal, papersDone: this.#status.sync.papersTotal };
          }
          this.#emit("sync-progress", { ...this.#status.sync });
          this.#emit("meeting-changed", { meetingId: m.id });
          return;
        }
      }
    }
  }

  #session(meetingId: string): DevSession {
    let s = this.#sessions.get(meetingId);
    if (s) return s;
    const m = this.#meetings.find((x) => x.id === meetingId);
    if (!m) throw new BackendError("no_meeting", `no meeting ${meetingId}`);
    const me = this.#status.person ?? { id: "p1", name: "Nguyễn Thị Lan" };
    const people: DevSession["people"] = [
      { id: me.id, name: me.name, role: this.#role, present: false },
      { id: "p-chair", name: "Phạm Quốc Hùng", role: this.#role === "chair" ? "delegate" : "chair", present: true },
      { id: "p-tk", name: "Đỗ Thu Trang", role: "secretariat", present: true },
    ];
    for (let i = 0; i < 48; i++) {
      const name = `${SURNAMES[i % SURNAMES.length]} ${MIDDLE[(i * 5) % MIDDLE.length]} ${GIVEN[(i * 7) % GIVEN.length]}`;
      people.push({ id: `p-d${i + 2}`, name, role: "delegate", present: i % 16 !== 3 });
    }
    const voters = people.filter((p) => p.role === "chair" || p.role === "delegate").map((p) => p.id);
    const now = Date.now();
    s = {
      status: m.status,
      currentItem: m.currentItem,
      chairFocus: m.status === "in_session" ? { documentId: "d-to-trinh-45", page: 1 } : null,
      people,
      speakers:
        m.status === "in_session"
          ? [
              { id: "r-1", personId: "p-d9", name: people[11]?.name ?? "", item: m.currentItem, status: "speaking", requestedAt: now - 400_000 },
              { id: "r-2", personId: "p-d14", name: people[16]?.name ?? "", item: m.currentItem, status: "waiting", requestedAt: now - 200_000 },
              { id: "r-3", personId: "p-d21", name: people[23]?.name ?? "", item: "i2-2", status: "waiting", requestedAt: now - 100_000 },
            ]
          : [],
      polls: [],
      mine: new Map(),
      overrides: [],
    };
    if (m.status === "in_session") {
      const closed: DevPoll = {
        id: "poll-ct",
        item: "i1",
        question: "Thông qua Chương trình kỳ họp thứ 5",
        options: ["Tán thành", "Không tán thành", "Không biểu quyết"],
        secret: false,
        rule: { base: "all_members", threshold: { kind: "more_than_half" }, quorum: null },
        status: "closed",
        eligible: voters,
        ballots: new Map(voters.slice(0, 45).map((v, i) => [v, i < 38 ? 0 : i < 42 ? 1 : 2])),
        presentAtOpen: 46,
        outcome: null,
      };
      closed.outcome = decide(closed);
      s.polls.push(closed);
      if (this.#pollParam === "open" || this.#pollParam === "secret") {
        s.polls.push({
          id: "poll-nq",
          item: m.currentItem,
          question: "Thông qua Nghị quyết về dự toán ngân sách địa phương năm 2027",
          options: ["Tán thành", "Không tán thành", "Không biểu quyết"],
          secret: this.#pollParam === "secret",
          rule: { base: "all_members", threshold: { kind: "more_than_half" }, quorum: null },
          status: "open",
          eligible: voters,
          ballots: new Map(voters.slice(8, 49).map((v, i) => [v, i % 9 === 0 ? 1 : 0])),
          presentAtOpen: 46,
          outcome: null,
        });
      }
    }
    this.#sessions.set(meetingId, s);
    return s;
  }

  /** Others vote while a poll is open: one ballot a second. */
  #sessionTick(): void {
    for (const [meetingId, s] of this.#sessions) {
      for (const p of s.polls) {
        if (p.status !== "open") continue;
        const next = p.eligible.find((v) => !p.ballots.has(v) && v !== this.#status.person?.id);
        if (!next || p.ballots.size >= p.eligible.length - 4) continue;
        p.ballots.set(next, p.ballots.size % 7 === 0 ? 2 : 0);
        this.#emit("meeting-changed", { meetingId });
      }
    }
  }

  async getMinutes(meetingId: string): Promise<Minutes> {
    const m = this.#meetings.find((x) => x.id === meetingId);
    const s = this.#session(meetingId);
    const voters = s.people.filter((p) => p.role === "chair" || p.role === "delegate");
    const present = voters.filter((p) => p.present).length;
    return {
      title: `BIÊN BẢN ${(m?.title ?? "").toUpperCase()} (DỰ THẢO)`,
      paragraphs: [
        m?.body ?? "",
        "II. THÀNH PHẦN THAM DỰ",
        `Tổng số đại biểu: ${voters.length}; có mặt (đã điểm danh): ${present}; vắng mặt: ${voters.length - present}.`,
        "III. KẾT QUẢ BIỂU QUYẾT",
        ...s.polls.map((p, i) => `${i + 1}. ${p.question}`),
      ],
    };
  }

  async getSession(meetingId: string): Promise<SessionView> {
    const s = this.#session(meetingId);
    const myId = this.#status.person?.id ?? "p1";
    const chair = this.#role === "chair";
    const name = (id: string) => s.people.find((p) => p.id === id)?.name ?? id;
    const voters = s.people.filter((p) => p.role === "chair" || p.role === "delegate");
    const polls: PollView[] = s.polls.map((p) => {
      const mine = s.mine.get(p.id) ?? null;
      const notVoted = p.eligible.filter((v) => !p.ballots.has(v));
      const counts = p.options.map((_, i) => [...p.ballots.values()].filter((c) => c === i).length);
      return {
        id: p.id,
        item: p.item,
        question: p.question,
        options: p.options,
        secret: p.secret,
        rule: p.rule,
        ruleCode: "custom",
        status: p.status,
        eligible: p.eligible.length,
        iAmEligible: p.eligible.includes(myId),
        received: p.ballots.size,
        notVoted: p.secret ? [] : notVoted.map(name),
        notVotedCount: notVoted.length,
        // As the hub: live counts of a secret poll would tell who chose what.
        counts: p.status === "closed" || (chair && !p.secret) ? counts : null,
        presentAtOpen: p.presentAtOpen,
        outcome: p.outcome,
        myChoice: mine?.choice ?? (p.secret ? null : (p.ballots.get(myId) ?? null)),
        myBallot: mine?.state ?? (p.ballots.has(myId) ? "counted" : null),
        myRefusal: mine?.state === "refused" ? { code: "poll_status", message: "the poll closed before the ballot arrived" } : null,
      };
    });
    const order = { open: 0, draft: 1, closed: 2 } as const;
    polls.sort((a, b) => order[a.status] - order[b.status]);
    const present = voters.filter((p) => p.present).length;
    return structuredClone({
      myId,
      myRole: s.people.find((p) => p.id === myId)?.role ?? null,
      status: s.status,
      currentItem: s.currentItem,
      chairFocus: s.chairFocus,
      chairFocusWithheld: false,
      attendance: {
        present,
        total: voters.length,
        required: quorumOf(voters.length),
        quorumMet: present >= quorumOf(voters.length),
        uncheckedBallot: "check_in",
        overrides: s.overrides,
        people: s.people,
      },
      speakers: s.speakers,
      polls,
    });
  }

  /** Applies an action as the hub would (roles and states checked), answering at once. */
  async sessionCommand(meetingId: string, action: SessionAction): Promise<CommandState> {
    const s = this.#session(meetingId);
    const myId = this.#status.person?.id ?? "p1";
    const commandId = `c-${crypto.randomUUID().slice(0, 8)}`;
    const refuse = (code: string, message: string): CommandState => {
      const st: CommandState = { commandId, state: "refused", refusal: { code, message } };
      this.#commands.set(commandId, st);
      return { commandId, state: "pending", refusal: null };
    };
    const voters = s.people.filter((p) => p.role === "chair" || p.role === "delegate");
    const presentVoters = () => voters.filter((p) => p.present).length;
    const belowQuorum = () => presentVoters() < quorumOf(voters.length);
    const noteOverride = (what: QuorumOverrideView["action"], pollId: string | null) => {
      if (!belowQuorum()) return;
      const by = s.people.find((p) => p.id === myId)?.name ?? myId;
      s.overrides.push({ action: what, poll: pollId, present: presentVoters(), total: voters.length, required: quorumOf(voters.length), by, at: Date.now() });
    };
    const chairOnly = !["check_in", "request_to_speak", "withdraw_request", "cast_ballot"].includes(action.type);
    if (chairOnly && this.#role !== "chair") return refuse("not_chair", "only the chair may do this");
    const poll = "poll" in action ? s.polls.find((p) => p.id === action.poll) : undefined;
    const meetingRow = this.#meetings.find((m) => m.id === meetingId);
    switch (action.type) {
      case "check_in": {
        const me = s.people.find((p) => p.id === myId);
        if (me) me.present = action.present;
        break;
      }
      case "request_to_speak":
        if (s.speakers.some((x) => x.personId === myId && (x.status === "waiting" || x.status === "speaking")))
          return refuse("invalid", "already in the queue");
        s.speakers.push({ id: action.request, personId: myId, name: this.#status.person?.name ?? "", item: action.item, status: "waiting", requestedAt: Date.now() });
        break;
      case "withdraw_request":
      case "give_floor":
      case "end_floor": {
        const r = s.speakers.find((x) => x.id === action.request);
        if (!r) return refuse("missing", "no such request");
        if (action.type === "give_floor") {
          for (const x of s.speakers) if (x.status === "speaking") x.status = "done";
          r.status = "speaking";
        } else r.status = action.type === "end_floor" ? "done" : "withdrawn";
        break;
      }
      case "cast_ballot": {
        if (!poll || poll.status !== "open") return refuse("poll_status", "the poll is not open");
        const offline = this.#status.connection === "offline";
        s.mine.set(poll.id, { choice: action.choice, state: "pending" });
        if (!offline) {
          setTimeout(() => {
            const mine = s.mine.get(poll.id);
            if (!mine) return;
            if (poll.status === "open") {
              poll.ballots.set(myId, action.choice);
              mine.state = "counted";
            } else mine.state = "refused";
            this.#emit("meeting-changed", { meetingId });
          }, 1500);
        }
        break;
      }
      case "start_session":
        if (belowQuorum() && !action.overrideQuorum) return refuse("below_quorum", "below quorum");
        noteOverride("start_session", null);
        s.status = "in_session";
        if (meetingRow) meetingRow.status = "in_session";
        break;
      case "close_session":
        if (s.polls.some((p) => p.status === "open")) return refuse("poll_status", "a poll is still open");
        s.status = "closed";
        if (meetingRow) meetingRow.status = "closed";
        break;
      case "set_current_item":
        s.currentItem = action.item;
        if (meetingRow) meetingRow.currentItem = action.item;
        break;
      case "set_chair_focus":
        s.chairFocus = action.document ? { documentId: action.document, page: action.page } : null;
        break;
      case "create_poll":
        s.polls.push({
          id: action.poll,
          item: action.item,
          question: action.question,
          options: action.options,
          secret: action.secret,
          rule: action.rule,
          status: "draft",
          eligible: s.people.filter((p) => p.role === "chair" || p.role === "delegate").map((p) => p.id),
          ballots: new Map(),
          presentAtOpen: 0,
          outcome: null,
        });
        break;
      case "open_poll":
        if (!poll || poll.status !== "draft") return refuse("poll_status", "the poll is not a draft");
        if (belowQuorum() && !action.overrideQuorum) return refuse("below_quorum", "below quorum");
        noteOverride("open_poll", poll.id);
        poll.status = "open";
        poll.presentAtOpen = s.people.filter((p) => p.present && poll.eligible.includes(p.id)).length;
        break;
      case "close_poll":
        if (!poll || poll.status !== "open") return refuse("poll_status", "the poll is not open");
        if (poll.ballots.size < poll.eligible.length && !action.confirmMissing) return refuse("voters_missing", "members have not voted");
        if (belowQuorum() && !action.overrideQuorum) return refuse("below_quorum", "below quorum");
        noteOverride("close_poll", poll.id);
        poll.status = "closed";
        poll.outcome = decide(poll);
        break;
    }
    this.#commands.set(commandId, { commandId, state: "applied", refusal: null });
    setTimeout(() => this.#emit("meeting-changed", { meetingId }), 50);
    return { commandId, state: "pending", refusal: null };
  }

  async commandState(commandId: string): Promise<CommandState> {
    return structuredClone(this.#commands.get(commandId) ?? { commandId, state: "pending", refusal: null });
  }

  async appStatus(): Promise<AppStatus> {
    return structuredClone(this.#status);
  }

  async join(invite: string): Promise<AppStatus> {
    await new Promise((r) => setTimeout(r, 400));
    const code = invite.trim();
    if (!code.startsWith("PH1-")) throw new BackendError("bad_invite", "invite does not start with PH1-");
    if (code === "PH1-USED") throw new BackendError("invite_unknown", "invite already used");
    if (code === "PH1-DOWN") throw new BackendError("hub_unreachable", "connect 192.0.2.10:8443: timed out");
    if (code === "PH1-MITM") throw new BackendError("certificate_mismatch", "fingerprint differs");
    this.#status = { ...this.#status, joined: true, hubUrl: "https://192.0.2.10:8443", person: { id: "p1", name: "Nguyễn Thị Lan" } };
    return structuredClone(this.#status);
  }

  async listMeetings(): Promise<MeetingSummary[]> {
    return this.#meetings.map(({ agenda: _agenda, ...s }) => structuredClone(s));
  }

  async getMeeting(meetingId: string): Promise<MeetingDetail> {
    const m = this.#meetings.find((x) => x.id === meetingId);
    if (!m) throw new BackendError("not_found", `no meeting ${meetingId}`);
    return structuredClone(m);
  }

  async getPaperPages(_meetingId: string, documentId: string, _version: number): Promise<PaperPages> {
    const p = this.#papers.get(documentId);
    if (!p) throw new BackendError("not_found", `no paper ${documentId}`);
    return {
      pages: p.pages.map((lines) => {
        const { width, height } = layout(lines);
        return { width, height };
      }),
      outline: [],
    };
  }

  async getPageText(_meetingId: string, documentId: string, _version: number, page: number): Promise<TextPage> {
    const lines = this.#papers.get(documentId)?.pages[page];
    if (!lines) throw new BackendError("not_found", `no page ${page + 1} of paper ${documentId}`);
    return layout(lines);
  }

  pageUrl(sha256: string, page: number, widthPx: number): string {
    for (const p of this.#papers.values()) {
      if (p.sha256 === sha256) return pageSvg(p.pages[page] ?? [], widthPx);
    }
    return pageSvg([], widthPx);
  }

  async search(query: string, meetingId: string | null): Promise<SearchHit[]> {
    const q = fold(query.trim());
    if (q.length < 2) return [];
    const hits: SearchHit[] = [];
    for (const p of this.#papers.values()) {
      if (meetingId && p.meetingId !== meetingId) continue;
      p.pages.forEach((lines, page) => {
        const tp = layout(lines);
        // Folding can change length (NFD), so fold character by character.
        const chars = [...tp.text];
        const folded = chars.map(fold);
        const flat = folded.join("");
        const starts: number[] = [];
        folded.reduce((acc, f, i) => ((starts[i] = acc), acc + f.length), 0);
        let from = 0;
        let onPage: SearchHit | null = null;
        for (;;) {
          const at = flat.indexOf(q, from);
          if (at < 0 || hits.length > 50) break;
          from = at + q.length;
          const first = starts.findIndex((s) => s >= at);
          let last = first;
          while (last < chars.length && (starts[last] ?? 0) < at + q.length) last++;
          const before = chars.slice(Math.max(0, first - 40), first).join("").replace(/\n/g, " ");
          const match = chars.slice(first, last).join("");
          const after = chars.slice(last, last + 40).join("").replace(/\n/g, " ");
          if (onPage) {
            onPage.matches.push(tp.boxes.slice(first, last));
            continue;
          }
          onPage = {
            meetingId: p.meetingId,
            documentId: p.id,
            version: 1,
            page,
            snippet: `…${before}«${match}»${after}…`,
            matches: [tp.boxes.slice(first, last)],
          };
          hits.push(onPage);
        }
      });
    }
    await new Promise((r) => setTimeout(r, 120));
    return hits;
  }

  async listAnnotations(_meetingId: string, documentId: string): Promise<AnnotationView[]> {
    return [...this.#annotations.values()].filter((a) => a.documentId === documentId).map((a) => structuredClone(a));
  }

  async saveAnnotation(meetingId: string, annotation: AnnotationView): Promise<AnnotationView> {
    const size = new TextEncoder().encode(annotation.text ?? "").length;
    if (size > NOTE_TEXT_LIMIT) {
      throw new BackendError("too_large", `note text is ${grouped(size)} bytes; the limit is ${grouped(NOTE_TEXT_LIMIT)}`);
    }
    const stored: AnnotationView = { ...structuredClone(annotation), state: "saved", refusal: null, updatedAt: Date.now() };
    this.#annotations.set(stored.id, stored);
    if (this.#status.connection === "online") {
      setTimeout(() => {
        const cur = this.#annotations.get(stored.id);
        if (!cur) return;
        if (this.#refuse) {
          const commandId = `c-dev-${Date.now()}`;
          const refusal = { commandId, code: "invalid", message: `invalid page: page ${cur.page + 1} is beyond the paper's end` };
          cur.state = "refused";
          cur.refusal = refusal;
          this.#refused.set(commandId, {
            meetingId,
            annotation: cur,
            item: {
              commandId,
              command: "add_annotation",
              concern: { kind: "annotation", id: cur.id, documentId: cur.documentId, page: cur.page },
              state: "refused",
              refusal,
              attempts: 0,
              lastError: null,
              createdAt: stored.updatedAt,
            },
          });
          this.#emit("meeting-changed", { meetingId });
        } else cur.state = "sent";
        this.#emit("annotations-changed", { meetingId, documentId: cur.documentId });
      }, 1500);
    }
    return structuredClone(stored);
  }

  async listSetAside(_meetingId: string): Promise<SetAsideEntry[]> {
    // The dev backend applies everything it makes: nothing is ever set aside.
    return [];
  }

  async listOutbox(meetingId: string): Promise<OutboxItem[]> {
    return [...this.#refused.values()].filter((r) => r.meetingId === meetingId).map((r) => structuredClone(r.item));
  }

  async dismissRefusal(commandId: string): Promise<void> {
    const r = this.#refused.get(commandId);
    if (!r) return;
    this.#refused.delete(commandId);
    // Nothing reached the "hub": the refused note leaves this device's view.
    if (this.#annotations.get(r.annotation.id)?.refusal?.commandId === commandId) this.#annotations.delete(r.annotation.id);
    this.#emit("annotations-changed", { meetingId: r.meetingId, documentId: r.annotation.documentId });
    this.#emit("meeting-changed", { meetingId: r.meetingId });
  }

  async deleteAnnotation(_meetingId: string, annotationId: string): Promise<void> {
    this.#annotations.delete(annotationId);
  }

  #lock: LockStatus = { pinSet: false, locked: false, failures: 0, waitUntil: null, idleSeconds: 15 * 60 };
  #pin: string | null = null;

  async lockStatus(): Promise<LockStatus> {
    return { ...this.#lock };
  }

  async setPin(current: string | null, pin: string): Promise<LockStatus> {
    if (this.#pin !== null && current !== this.#pin) throw new BackendError("pin_wrong", "the current PIN is not right");
    if (!/^[0-9]{4,12}$/.test(pin)) throw new BackendError("pin_format", "a PIN is 4 to 12 digits");
    this.#pin = pin;
    this.#lock = { ...this.#lock, pinSet: true, failures: 0, waitUntil: null };
    return this.lockStatus();
  }

  async unlock(pin: string): Promise<LockStatus> {
    const now = Date.now();
    if (this.#lock.waitUntil !== null && this.#lock.waitUntil > now) throw new BackendError("pin_wait", "wait");
    if (pin === this.#pin) {
      this.#lock = { ...this.#lock, locked: false, failures: 0, waitUntil: null };
    } else {
      const failures = this.#lock.failures + 1;
      this.#lock = { ...this.#lock, failures, waitUntil: failures >= 5 ? now + 30_000 : null };
      this.#emit("lock-changed", { ...this.#lock });
      throw new BackendError("pin_wrong", "the PIN is not right");
    }
    this.#emit("lock-changed", { ...this.#lock });
    return this.lockStatus();
  }

  async lockNow(): Promise<LockStatus> {
    if (this.#lock.pinSet) this.#lock = { ...this.#lock, locked: true };
    this.#emit("lock-changed", { ...this.#lock });
    return this.lockStatus();
  }

  async exportAnnotated(_meetingId: string, documentId: string, version: number): Promise<string> {
    return `${documentId} (v${version}, ghi chú).pdf`;
  }

  async showExport(_name: string): Promise<void> {}

  async on<E extends BackendEventName>(event: E, handler: (payload: BackendEvents[E]) => void): Promise<Unsubscribe> {
    const set = this.#listeners.get(event) ?? new Set();
    const h = handler as (p: unknown) => void;
    set.add(h);
    this.#listeners.set(event, set);
    return () => set.delete(h);
  }
}
