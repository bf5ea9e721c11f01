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
