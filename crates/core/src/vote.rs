//! Majority rules as data, not code paths: a rule is a base (whom we count
//! against) × a threshold (what share is needed) × an optional quorum (what
//! share of members must be present for the vote to be valid).
//!
//! Vietnamese councils: a resolution of an HĐND passes with more than half of
//! all delegates (base = all members, threshold = more than half); some
//! decisions (e.g. dismissal) need at least two thirds of all delegates.
//! Arithmetic is integer-only, so "more than half of 50" is exactly 26.

use serde::{Deserialize, Serialize};

/// Whom the approvals are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// All members of the body entitled to vote in this poll ("tổng số đại biểu").
    AllMembers,
    /// Members checked in as present.
    Present,
    /// Ballots cast, including "không biểu quyết".
    VotesCast,
}

/// What share of the base the approvals must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Threshold {
    /// Strictly more than half ("quá nửa").
    MoreThanHalf,
    /// At least two thirds ("ít nhất hai phần ba").
    AtLeastTwoThirds,
    /// A custom fraction; `strict` means "more than", otherwise "at least".
    Fraction {
        /// Numerator.
        numerator: u32,
        /// Denominator, > 0.
        denominator: u32,
        /// More than (true) or at least (false).
        strict: bool,
    },
}

impl Threshold {
    fn parts(self) -> (u64, u64, bool) {
        match self {
            Threshold::MoreThanHalf => (1, 2, true),
            Threshold::AtLeastTwoThirds => (2, 3, false),
            Threshold::Fraction {
                numerator,
                denominator,
                strict,
            } => (u64::from(numerator), u64::from(denominator.max(1)), strict),
        }
    }

    /// The smallest count out of `base` that meets this threshold.
    pub fn required(self, base: u32) -> u32 {
        let (n, d, strict) = self.parts();
        let nb = n * u64::from(base);
        let r = if strict { nb / d + 1 } else { nb.div_ceil(d) };
        u32::try_from(r).unwrap_or(u32::MAX)
    }

    /// Whether `count` out of `base` meets this threshold.
    pub fn met(self, count: u32, base: u32) -> bool {
        count >= self.required(base)
    }

    /// Whether the fraction is well-formed (denominator > 0, share ≤ 1).
    pub fn is_valid(self) -> bool {
        match self {
            Threshold::Fraction {
                numerator,
                denominator,
                ..
            } => denominator > 0 && numerator <= denominator,
            _ => true,
        }
    }
}

/// A complete majority rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MajorityRule {
    /// Whom approvals are counted against.
    pub base: Base,
    /// Share of the base needed.
    pub threshold: Threshold,
    /// Share of all members that must be present, if any.
    pub quorum: Option<Threshold>,
}

impl MajorityRule {
    /// HĐND resolutions: more than half of all delegates.
    pub const MORE_THAN_HALF_OF_ALL: MajorityRule = MajorityRule {
        base: Base::AllMembers,
        threshold: Threshold::MoreThanHalf,
        quorum: None,
    };
    /// Decisions that need at least two thirds of all delegates.
    pub const TWO_THIRDS_OF_ALL: MajorityRule = MajorityRule {
        base: Base::AllMembers,
        threshold: Threshold::AtLeastTwoThirds,
        quorum: None,
    };

    /// Applies the rule to a tally.
    pub fn decide(&self, tally: &Tally) -> Outcome {
        let approve = tally.counts.first().copied().unwrap_or(0);
        let cast: u32 = tally.counts.iter().sum();
        let base_count = match self.base {
            Base::AllMembers => tally.members,
            Base::Present => tally.present,
            Base::VotesCast => cast,
        };
        let quorum_met = self
            .quorum
            .is_none_or(|q| q.met(tally.present, tally.members));
        let required = self.threshold.required(base_count);
        Outcome {
            passed: quorum_met && approve >= required,
            quorum_met,
            approve,
            base_count,
            required,
            cast,
        }
    }
}

/// The numbers a rule is applied to. Option 0 is the approving option
/// ("Tán thành").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Members entitled to vote.
    pub members: u32,
    /// Members present.
    pub present: u32,
    /// Ballots per option, in option order.
    pub counts: Vec<u32>,
}

/// A meeting's own rules, set by the secretariat before the session
/// ([`crate::Event::MeetingRulesSet`]); a meeting without that event keeps
/// [`MeetingRules::default`].
///
/// Vietnamese law holds both bodies to the same quorum: an HĐND session
/// ("kỳ họp") and a UBND meeting ("phiên họp") go ahead only with at least
/// two thirds of their members taking part. The hub refuses to open the
/// session, or to open or close a poll, below it, unless the chair
/// confirms an override, which the log records
/// ([`crate::Event::QuorumOverridden`]) and the minutes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingRules {
    /// Share of the voting members who must be checked in.
    pub quorum: Threshold,
    /// A ballot from a voting member who has not checked in.
    pub unchecked_ballot: UncheckedBallot,
}

impl Default for MeetingRules {
    fn default() -> Self {
        MeetingRules {
            quorum: Threshold::AtLeastTwoThirds,
            unchecked_ballot: UncheckedBallot::CheckIn,
        }
    }
}

/// What the hub does with a ballot from a voting member who has not
/// checked in (or has checked out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UncheckedBallot {
    /// Voting counts as checking in: the hub records the attendance first,
    /// in the same transaction as the ballot.
    #[default]
    CheckIn,
    /// The ballot is refused; the member checks in first.
    Refuse,
}

/// What the chair did below quorum, by override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum QuorumAction {
    /// Opened the session.
    StartSession,
    /// Opened a poll.
    OpenPoll {
        /// Which.
        poll: crate::PollId,
    },
    /// Closed a poll.
    ClosePoll {
        /// Which.
        poll: crate::PollId,
    },
}

impl QuorumAction {
    /// The meeting status the action happens in (the session opens from
    /// published; polls open and close in session).
    pub fn meeting_status(&self) -> crate::MeetingStatus {
        match self {
            QuorumAction::StartSession => crate::MeetingStatus::Published,
            QuorumAction::OpenPoll { .. } | QuorumAction::ClosePoll { .. } => {
                crate::MeetingStatus::InSession
            }
        }
    }
}

/// Checked-in voting members against the meeting's quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumCount {
    /// Voting members checked in.
    pub present: u32,
    /// Voting members.
    pub voting: u32,
    /// Checked-in voting members the quorum needs.
    pub required: u32,
}

impl QuorumCount {
    /// Counts `present` of `voting` against `quorum`.
    pub fn new(quorum: Threshold, present: u32, voting: u32) -> Self {
        QuorumCount {
            present,
            voting,
            required: quorum.required(voting),
        }
    }

    /// Whether the quorum holds.
    pub fn met(&self) -> bool {
        self.present >= self.required
    }
}

/// The result of applying a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Passed ("thông qua").
    pub passed: bool,
    /// The quorum held (always true without a quorum).
    pub quorum_met: bool,
    /// Approvals (option 0).
    pub approve: u32,
    /// The size of the base.
    pub base_count: u32,
    /// Approvals needed.
    pub required: u32,
    /// Ballots cast.
    pub cast: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(members: u32, present: u32, yes: u32, no: u32, abstain: u32) -> Tally {
        Tally {
            members,
            present,
            counts: vec![yes, no, abstain],
        }
    }

    /// The HĐND cases: (rule, members, present, yes, no, abstain, passes, required).
    #[test]
    fn hdnd_rules_table() {
        use MajorityRule as R;
        let two_thirds_quorum = MajorityRule {
            quorum: Some(Threshold::AtLeastTwoThirds),
            ..R::MORE_THAN_HALF_OF_ALL
        };
        type Case = (MajorityRule, u32, u32, u32, u32, u32, bool, u32);
        let cases: &[Case] = &[
            // 50 delegates: more than half of all needs 26.
            (R::MORE_THAN_HALF_OF_ALL, 50, 50, 26, 24, 0, true, 26),
            (R::MORE_THAN_HALF_OF_ALL, 50, 50, 25, 25, 0, false, 26),
            // Absent delegates still count in the base.
            (R::MORE_THAN_HALF_OF_ALL, 50, 30, 25, 0, 5, false, 26),
            (R::MORE_THAN_HALF_OF_ALL, 51, 51, 26, 0, 0, true, 26),
            // Two thirds of 50 is 33.33…: 34 needed.
            (R::TWO_THIRDS_OF_ALL, 50, 50, 34, 16, 0, true, 34),
            (R::TWO_THIRDS_OF_ALL, 50, 50, 33, 17, 0, false, 34),
            (R::TWO_THIRDS_OF_ALL, 45, 45, 30, 0, 0, true, 30),
            // Quorum: 2/3 of 50 present needed (34); 33 present is no quorum.
            (two_thirds_quorum, 50, 33, 30, 0, 0, false, 26),
            (two_thirds_quorum, 50, 34, 30, 0, 0, true, 26),
        ];
        for (i, &(rule, m, p, y, n, a, passes, required)) in cases.iter().enumerate() {
            let o = rule.decide(&tally(m, p, y, n, a));
            assert_eq!(
                o.passed, passes,
                "case {i}: {rule:?} with {m} members, {p} present, {y} yes"
            );
            assert_eq!(o.required, required, "case {i}: required approvals");
        }
    }

    #[test]
    fn bases_and_custom_fractions() {
        let t = tally(60, 40, 21, 10, 9);
        let present = MajorityRule {
            base: Base::Present,
            threshold: Threshold::MoreThanHalf,
            quorum: None,
        };
        assert!(
            present.decide(&t).passed,
            "21 of 40 present is more than half"
        );
        let cast = MajorityRule {
            base: Base::VotesCast,
            threshold: Threshold::Fraction {
                numerator: 3,
                denominator: 5,
                strict: false,
            },
            quorum: None,
        };
        let o = cast.decide(&t);
        assert_eq!((o.base_count, o.required, o.passed), (40, 24, false));
        assert!(!Threshold::Fraction {
            numerator: 3,
            denominator: 0,
            strict: true
        }
        .is_valid());
    }
}
