// A reader's find over search results: the hits of one query, put in
// reading order, and a position that steps from match to match — across
// pages and papers — while the result list stays as it was.

import type { Box, SearchHit } from "./backend";

/**
 * Hits in reading order: papers in the order the search ranked their best
 * page, and each paper's pages in page order (stepping through a paper
 * must not jump about by relevance).
 */
export function readingOrder(hits: SearchHit[]): SearchHit[] {
  const rank = new Map<string, number>();
  for (const h of hits) {
    const key = `${h.meetingId}\u0000${h.documentId}`;
    if (!rank.has(key)) rank.set(key, rank.size);
  }
  const key = (h: SearchHit) => rank.get(`${h.meetingId}\u0000${h.documentId}`) ?? 0;
  return [...hits].sort((a, b) => key(a) - key(b) || a.page - b.page);
}

/** A match: which hit (page) and which match on it. */
export interface MatchPos {
  hit: number;
  match: number;
}

/** Every match of every hit, in order (a hit without boxes counts once). */
export function allMatches(hits: SearchHit[]): MatchPos[] {
  return hits.flatMap((h, hit) => Array.from({ length: Math.max(1, h.matches.length) }, (_, match) => ({ hit, match })));
}

/** The next (dir 1) or previous (dir -1) position, wrapping around. */
export function step(pos: number, count: number, dir: 1 | -1): number {
  if (count <= 0) return 0;
  return (((pos + dir) % count) + count) % count;
}

/** The first position of a hit. */
export function firstOf(hits: SearchHit[], hit: number): number {
  return allMatches(hits).findIndex((m) => m.hit === hit);
}

/** What the reader needs to show one position: its page, all matches there, the current one. */
export interface FindView {
  meetingId: string;
  documentId: string;
  page: number;
  /** Every match on the page. */
  matches: Box[][];
  /** Index into `matches` of the current one. */
  current: number;
  /** 1-based position and total, for "3 / 17". */
  position: number;
  total: number;
}

export function viewAt(hits: SearchHit[], pos: number): FindView | null {
  const all = allMatches(hits);
  const m = all[pos];
  const h = m ? hits[m.hit] : undefined;
  if (!m || !h) return null;
  return {
    meetingId: h.meetingId,
    documentId: h.documentId,
    page: h.page,
    matches: h.matches,
    current: m.match,
    position: pos + 1,
    total: all.length,
  };
}
