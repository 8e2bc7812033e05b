"""Data only: the text patterns that mark quotes, attributions, signatures and list footers.

Every pattern is matched against ONE line (or at most three joined lines, each already
capped in length by the caller), anchored, and built from bounded repeats, so no pattern
can backtrack catastrophically on a 32 KB run of ``>`` lines. Sources are listed in
``../shared/reference/normalisation.md`` §2-§3.
"""

from __future__ import annotations

import re

# Longest line an attribution may span once joined; longer candidates are prose.
MAX_ATTRIBUTION_CHARS = 400
# Every attribution pattern ends on one of these characters: a cheap filter before regexes.
ATTRIBUTION_ENDS = frozenset(":：>-")

_VERBS = (
    r"wrote|writes|has written|a écrit|a ecrit|nous a dit|schrieb|schreibt|schrieben Sie"
    r"|escribió|escribio|escribe|ha scritto|scrive|escreveu|escreve|schreef"
    r"|het volgende geschreven|skrev|kirjoitti|napisał\(a\)|napisał|napsal\(a\)|napsal"
    r"|написал\(а\)|написал|написала|пишет|пише|đã viết|yazdı"
    r"|写道|寫道|さんは書きました|は書きました|書きました|كتبت|كتب"
)

# Each pattern matches a whole (joined) attribution; group "name" holds the quoted author
# when the form puts it in a fixed place. The generic "... NAME <ADDR> VERB:" case is left
# to the name extractor in quotes.py.
ATTRIBUTION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # Supercite: '"KH" == Kurt Hornik <kh@x.org> writes:' (the key is a nickname).
        r'^"[^"]{1,40}"\s*==\s*(?P<name>[^<>:"]{1,80}?(?:\s*<[^<>\s]{1,120}>)?)\s+writes\s*:$',
        # Supercite's two-line form, joined: "Kevin Ushey on Fri, 22 Feb 2019 10:09 writes:"
        r"^(?P<name>[^\W\d_][\w'.-]{0,30}(?:\s[^\W\d_][\w'.-]{0,30}){0,4})"
        r"(?:\s*<[^<>\s]{1,120}>)?\s+(?-i:on)\s+(?:\w{3},?\s+)?\d.{0,100}?\s(?:writes|wrote)\s*:$",
        # ar: "في الثلاثاء، 12 مارس 2021، كتب NAME <ADDR>:" (the verb before the name)
        r"^.{0,200}?(?:^|[\s،,])كتبت?\s+(?P<name>[^:：]{1,160}?)\s*[:：]$",
        # ja (Thunderbird): "2021/03/12 10:00 に NAME さんは書きました:"
        r"^(?:.{0,80}?\sに\s*)?(?P<name>[^:：\s][^:：]{0,80}?)\s*(?:さん)?(?:は|が)?書きました\s*[:：]$",
        # de (Thunderbird/Gmail): "Am 06.04.21 um 23:22 schrieb NAME:"
        r"^Am\s.{1,200}?\sschrieb\s+(?P<name>[^:]{1,160}?)\s*:$",
        # nl: "Op 13-02-2014 3:18 schreef NAME <ADDR>:"
        r"^Op\s.{1,200}?\sschreef\s+(?P<name>[^:]{1,160}?)\s*:$",
        # nl: "Op ... heeft NAME het volgende geschreven:"
        r"^Op\s.{1,200}?\sheeft\s+(?P<name>.{1,160}?)\s+het volgende geschreven\s*:$",
        # sv/da/no: "4 dec. 2024 kl. 18:36 skrev NAME <ADDR>:"
        r"^.{0,120}?\bkl\.?\s.{0,40}?skrev\s+(?P<name>[^:]{1,160}?)\s*:$",
        # "On/Le/El/Il/Em/Op/Den/... DATE, NAME VERB:" and the bare "NAME VERB:".
        r"^(?:-{1,4}\s*)?(?:On|Le|El|Il giorno|Il|In data|Em|Op|Den|Dne|Dnia|W dniu|På|Vào)\s"
        r".{1,260}?\s(?:" + _VERBS + r")\s*[:：]$",
        r"^(?:-{1,4}\s*)?(?P<name>[^\s:<>()\[\]][^:<>()\[\]]{0,80}?(?:\s*[<(\[][^<>()\[\]\s]{1,120}[>)\]])?)"
        r"\s+(?:" + _VERBS + r")\s*[:：]$",
        # Date first, verb last: "pe 20. lokakuuta 2017 klo 17.50 NAME <ADDR> kirjoitti:",
        # "02.04.2012 14:20 пользователь "ADDR" <ADDR> написал:"
        r"^(?=.{0,25}\d).{1,300}?\s(?:" + _VERBS + r")\s*[:：]$",
        # de: "NAME <ADDR> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:"
        r"^(?P<name>[^:<>]{1,80}?)(?:\s*<[^<>\s]{1,120}>)?\s+schrieb am\s.{1,80}:$",
        # Android: "---- NAME wrote ----"
        r"^-{2,}\s*(?P<name>.{1,80}?)\s+wrote\s*-{2,}$",
        # "On Feb 21, 2010, at 8:00 PM, NAME wrote" (colon lost)
        r"^(?:-{1,4}\s*)?On\s.{1,260}?\s(?:wrote|writes)$",
        # Horde/IMP: 'Quoting "NAME" <ADDR>:'
        r"^Quoting\s+(?P<name>.{1,160}?)\s*:$",
        # Lotus Notes: "Inactive hide details for NAME ---05-10-2020 02:09:58 PM---first words"
        # and the line after it, "NAME ---05-10-2020 02:09:58 PM---first words".
        r"^(?:\[image: )?Inactive hide details for (?P<name>[^-]{1,80}?)\s?-{3}\d.{0,400}$",
        r"^(?P<name>[^-:<>]{1,80}?)\s?-{3}\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}[\d :.]{0,12}(?:AM|PM)?-{3}.{0,400}$",
        # "In message <ID>, NAME writes:"
        r"^In message\s.{1,200}?,\s*(?P<name>.{1,120}?)\s+writes\s*:$",
        # zh: "在 2016年12月12日，下午8:45，NAME <ADDR> 写道：" and Gmail "NAME <ADDR> 于...写道："
        r"^.{0,200}?(?:写道|寫道)\s*[:：]$",
        # ko: "2024. 1. 1. 오전 10:00, NAME <ADDR>님이 작성:"
        r"^.{0,200}?님이 작성(?:하였습니다)?\s*[:：]$",
        # ja: "2024/01/01 12:00、NAME のメッセージ:"
        r"^.{0,200}?のメッセージ\s*[:：]$",
        # Date-first with an address and no verb (Gmail 2009, talon, Gmail ru, ja):
        # "2009/7/17 NAME <ADDR>", "2015-10-18 0:17 GMT+03:00 NAME <ADDR>:",
        # "ср, 30 апр. 2025 г. в 15:19, NAME <ADDR>:", "Thu, 26 Jun 2014 14:00:51 +0400 Bob <b@x>:"
        # The lookahead wants a date or a time, not any digit ("commit 3f2a1b Author: ...").
        r"^(?=.{0,60}(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|\d{1,2}:\d{2}|\b(?:19|20)\d\d\b))"
        r".{0,160}?\d[^<>]{0,120}?<[^<>\s@]{1,80}@[^<>\s]{1,120}>\s*:?$",
    )
)

# Every attribution holds "<...@...>" (the verb-less forms) or one of these words: a cheap
# search that spares the full pattern list on ordinary lines ending in ":".
ATTRIBUTION_HINT: re.Pattern[str] = re.compile(
    r"(?:" + _VERBS + r"|写道|寫道|작성|メッセージ|Quoting|wrote|-{3}\d)", re.IGNORECASE
)
# Lotus Notes attributions end in the quoted message's first words, not in ":".
LOTUS_HINT: re.Pattern[str] = re.compile(r"-{3}\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}[\d :.]{0,12}(?:AM|PM)?-{3}")

# An elision marker alone on a line ("[...]", "[…]", "[snip]", "<snip>"): the writer cut
# text there. It stands in for lines of the level around it, so it neither opens a quote
# nor shows that the text after an attribution is quoted one level deeper.
ELISION: re.Pattern[str] = re.compile(r"^\s*(?:\[\s*(?:\.{2,}|…|snip)\s*\]|<\s*snip\s*>)\s*$",
                                      re.IGNORECASE)

# Forward markers: what follows is another message, quoted whole with its header block.
FORWARD_MARKERS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^-{2,}\s*Forwarded message\s*-{2,}$",
        r"^-{2,}\s*Forwarded Message\s*-{2,}$",
        r"^Begin forwarded message\s*:$",
        r"^Anfang der weitergeleiteten (?:E-Mail|Nachricht)\s*:?$",
        r"^Début du message réexpédié\s*:?$",
        r"^Inicio del mensaje reenviado\s*:?$",
        r"^-{2,}\s*(?:Message transféré|Mensaje reenviado|Weitergeleitete Nachricht|"
        r"Mensagem encaminhada|Messaggio inoltrato|Doorgestuurd bericht|"
        r"Vidarebefordrat meddelande|Пересылаемое сообщение|Пересылаемое письмо|"
        r"転送されたメッセージ|Forwarded by .{1,80})\s*-{2,}$",
    )
)

ORIGINAL_MESSAGE: re.Pattern[str] = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Original E-mail|Original|Reply Message|Ursprüngliche Nachricht|"
    r"Antwort Nachricht|Message d'origine|Message d’origine|Mensaje original|"
    r"Mensagem original|Messaggio originale|Oorspronkelijk bericht|Исходное сообщение|"
    r"Oryginalna wiadomość|Αρχικό μήνυμα|原始邮件|原始郵件|Oprindelig meddelelse|"
    r"Oprindelig Besked|Opprinnelig melding|Ursprungligt meddelande|Alkuperäinen viesti)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)

# Outlook-style header labels (localised); "from" labels name the quoted author.
_FROM_LABELS = (
    r"From|De|Von|Van|Da|Od|Från|Fra|Expéditeur|От|От кого|Lähettäjä|发件人|寄件者|보낸 사람"
)
_OTHER_LABELS = (
    r"Sent|Sent Time|Date|To|Cc|Bcc|Subject|Reply-To|Envoyé|Envoyé le|Le|À|A|Destinataire|Objet|Sujet|"
    r"Gesendet|Datum|An|Kopie|Betreff|Enviado|Enviado el|Enviada em|Fecha|Para|Asunto|Assunto|"
    r"Inviato|Data|Oggetto|Verzonden|Aan|Onderwerp|Wysłano|Do|DW|Temat|Skickat|Sendt|Dato|"
    r"Till|Til|Kopia|Kopi|Ämne|Emne|Odesláno|Komu|Předmět|Отправлено|Дата|Кому|Тема|"
    r"发送时间|收件人|抄送|主题|寄件日期|收件者|보낸 날짜|받는 사람|참조|제목"
)
HEADER_FROM: re.Pattern[str] = re.compile(
    r"^\s*[*_]?(?:" + _FROM_LABELS + r")[*_]?\s?[:：][*_]?\s*(?P<value>\S.{0,300})$",
    re.IGNORECASE,
)
HEADER_OTHER: re.Pattern[str] = re.compile(
    r"^\s*[*_]?(?:" + _OTHER_LABELS + r")[*_]?\s?[:：][*_]?(?:\s.{0,300})?$",
    re.IGNORECASE,
)

# Signature delimiters: RFC 3676 "-- ", and the forms that lost the space ("--", "--\xa0").
SIGNATURE_DELIMITER: re.Pattern[str] = re.compile(r"^-- ?$|^--\s*$")

PHONE_SIGNATURES: re.Pattern[str] = re.compile(
    r"^(?:"
    r"Sent from (?:my|Mailbox|Yahoo Mail|Outlook|Windows Mail|Samsung)\b.{0,60}"
    r"|Sent with .{1,40}"
    r"|Sent via .{1,40}"
    r"|Get Outlook for .{1,30}"
    r"|Envoyé (?:de|depuis) (?:mon|ma|l'application)\b.{0,60}"
    r"|Von meinem .{1,60} gesendet\.?"
    r"|Gesendet (?:von|mit) (?:meinem|der|Outlook)\b.{0,60}"
    r"|Diese Nachricht wurde von meinem .{1,80} gesendet\.?"
    r"|Enviado (?:desde|do|de) (?:mi|meu|o meu|my)\b.{0,60}"
    r"|Inviato da(?:l mio)? .{1,60}"
    r"|Verstuurd (?:vanaf|van) mijn .{1,60}"
    r"|Verzonden (?:met|vanaf|van) .{1,60}"
    r"|Sendt fra min .{1,60}"
    r"|Skickat från min .{1,60}"
    r"|Wysłane z .{1,60}"
    r"|Отправлено с .{1,60}"
    r"|從我的 .{1,40}傳送"
    r"|从我的.{1,40}发送"
    r"|내 .{1,40}에서 보냄"
    r")(?:\s*<[^<>\s]{1,200}>)?$",
    re.IGNORECASE,
)

# Lines that open a list footer or an archive artefact: everything from here to the end of
# its quoting level is footer, never the author's words.
FOOTER_STARTS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # IGC (lists.cpsr.org / igcaucus.org)
        r"^You received this message as a subscriber on the list",
        r"^To be removed from the list,? (?:visit|send)",
        # Google Groups
        r"^You received this (?:message|topic) because you are subscribed to the Google Groups",
        r"^---\s*You received this message because you are subscribed to",
        # Lyris
        r"^You are currently subscribed to \S+ as:",
        r"^---\s*You are currently subscribed to",
        # Mailman 3
        r"^To unsubscribe send an email to \S+-leave@",
        # LISTSERV: a rule of "#" then "To unsubscribe from the X list, click ..."
        r"^To unsubscribe from the \S+ list",
        # Old Mailman (R lists): "R-devel at r-project.org mailing list", then listinfo
        r"^\S+ (?:at|@) \S+ mailing list$",
        # Yahoo classic
        r"^-{3,}\s*Inline Attachment Follows\s*-{3,}$",
    )
)

FOOTER_START: re.Pattern[str] = re.compile(
    "|".join(f"(?:{p.pattern})" for p in FOOTER_STARTS), re.IGNORECASE
)

# Mailman 2's scrubber replaces each attachment it stores by a stub: this separator, one
# notice line, then "Name:", "Type:", "Size:", "Desc:", "URL:" lines. A stub stands for an
# attachment, so it is neither the author's words nor a footer.
SCRUB_SEPARATOR: re.Pattern[str] = re.compile(r"^-{5,}\s*(?:next part|Part\s*\.\d+)\s*-{5,}$",
                                              re.IGNORECASE)
SCRUB_NOTICE: re.Pattern[str] = re.compile(
    r"^(?:An? (?P<kind>HTML attachment|non-text attachment|embedded and charset-unspecified "
    r"text|embedded message|embedded and charset-unspecified text) was scrubbed\.\.\."
    r"|Skipped content of type (?P<skipped>\S+)"
    # R's lists delete HTML alternatives and say so where the part stood.
    r"|\[\[alternative (?P<deleted>HTML|text/enriched) version deleted\]\])\s*$",
    re.IGNORECASE,
)
SCRUB_FIELD: re.Pattern[str] = re.compile(
    r"^(?P<key>Name|Type|Size|Desc|URL|From|Subject|Date)\s*:\s*(?P<value>.{0,400})$",
    re.IGNORECASE,
)

# Mailman 2/3 footers open with a rule of underscores, then the list's name line.
UNDERSCORE_RULE: re.Pattern[str] = re.compile(r"^_{20,}$|^#{20,}$")
MAILMAN_LIST_LINE: re.Pattern[str] = re.compile(
    r"(?:mailing list|listinfo|@lists?\.|To unsubscribe|-request@|-leave@|"
    r"governance@|lists\.cpsr\.org|igcaucus)",
    re.IGNORECASE,
)

# Closing words: a line made of these is a sign-off phrase, not a name.
CLOSINGS: frozenset[str] = frozenset(
    w.lower()
    for w in (
        "best", "regards", "best regards", "kind regards", "warm regards", "warmly", "cheers",
        "thanks", "thank you", "many thanks", "thx", "yours", "sincerely", "yours sincerely",
        "all the best", "cordialement", "bien à vous", "amitiés", "salutations", "merci",
        "mit freundlichen grüßen", "mit lieben grüßen", "liebe grüße", "beste grüße",
        "herzliche grüße", "freundliche grüße", "viele grüße", "gruß", "grüße", "lg", "mfg", "saludos",
        "un saludo", "atentamente", "abrazos", "cordiali saluti", "saluti", "grazie",
        "met vriendelijke groet", "groeten", "obrigado", "obrigada", "abraços", "att",
        "hi", "hello", "dear all", "dear", "all", "ciao", "love", "best wishes", "greetings",
        "with best wishes", "respectfully", "peace", "buongiorno", "bonjour", "bonsoir",
        "hallo", "hola", "hej", "hey", "salut", "olá", "buenos días", "guten tag", "moin",
        "mvh", "med venlig hilsen", "med vänliga hälsningar", "hälsningar", "vh", "mvg",
        "pozdrawiam", "z poważaniem", "ok", "okay", "yes", "no", "sure", "great", "agreed", "done", "noted", "indeed",
    )
)

# Lowercase particles allowed inside a personal name ("Bertrand de La Chapelle").
NAME_PARTICLES: frozenset[str] = frozenset(
    ("de", "la", "le", "du", "des", "da", "di", "do", "dos", "van", "von", "der", "den", "ter",
     "el", "al", "bin", "ibn", "y", "e")
)
