// Words people read for the analysis' names: cue kinds and severities. Shared by the live panel and the
// review page, so a cue reads the same during and after the session.

// Cue kinds in plain words (mute controls, evidence headings, the review page).
export const KIND_LABELS = {
  'words.sentiment_shift': 'Tone of words',
  'words.risk': 'Words worth checking',
  'voice.pace': 'Speaking pace',
  'voice.pace_words': 'Speaking pace (words)',
  'voice.loudness': 'Loudness',
  'voice.pitch': 'Pitch',
  'voice.flatness': 'Liveliness of voice',
  'voice.pauses': 'Pauses while speaking',
  'conversation.interruptions': 'Talking over others',
  'conversation.response_latency': 'Pause before answering',
  'conversation.long_silence': 'Long silences',
  'conversation.talk_share': 'Your share of talk',
  'conversation.silent_participant': 'Someone staying quiet',
  'video.face_absent': 'Face not in view',
  'video.looking_away': 'Looking away',
  'video.restless': 'Head movement',
  'video.expression_tense': 'Facial expression (weak signal)',
  'words.risk_set_aside': 'Words set aside (no alert)',
};

// What each severity asks of the counselor, in words (never a raw level name).
export const SEVERITY_LABELS = {
  urgent: 'Urgent alert',
  notice: 'Worth a look',
  info: 'For information',
};

export const baseKind = (kind) => String(kind ?? '').replace(/\.ended$/, '');

// An unknown kind ("words.risk_language") still reads as words: "Risk language (words)".
export function kindLabel(kind) {
  const base = baseKind(kind);
  if (KIND_LABELS[base]) return KIND_LABELS[base];
  const [family, ...rest] = base.split('.');
  const name = (rest.length ? rest.join(' ') : family).replace(/_/g, ' ');
  const words = name.charAt(0).toUpperCase() + name.slice(1);
  return rest.length ? `${words} (${family})` : words;
}

export function severityLabel(severity) {
  return SEVERITY_LABELS[severity] ?? SEVERITY_LABELS.info;
}

// The counselor's listening in words, for the live panel and the review: MITI's reflections-to-questions
// ratio with the band the server rated it in (analysis.text_model.ListeningTally: 1:1 fair, 2:1 good) and
// the share of open questions.
const BANDS = {
  good: 'in the good band (2:1 or more)',
  fair: 'in the fair band (1:1 or more)',
  below_fair: 'below 1:1; counselors are coached towards 1:1 (fair) and 2:1 (good)',
};

export function listeningSentences({ open_question: open = 0, closed_question: closed = 0, reflection = 0,
  reflection_to_question: ratio = null, percent_open: share = null, rating = null }) {
  const asked = open + closed;
  if (!asked && !reflection) return ['No questions or reflections from you counted yet.'];
  const out = [];
  if (asked && ratio !== null && ratio !== undefined && BANDS[rating]) {
    const band = BANDS[rating];
    out.push(`About ${ratio.toFixed(1)} reflections for each question: ${band}.`);
  } else if (reflection) {
    out.push(`${reflection} reflection${reflection === 1 ? '' : 's'}, no questions yet.`);
  }
  if (asked && share !== null && share !== undefined) out.push(`${Math.round(share)}% of your questions were open.`);
  return out;
}
