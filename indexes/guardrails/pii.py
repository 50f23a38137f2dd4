"""PII redaction with Presidio: recognizers for the kinds a credit assistant sees.

The recognizers here are pure (a regex, a checksum, a context window); Presidio's
``AnalyzerEngine`` runs them and, when a spaCy pipeline is loaded, adds person
names from its NER. The engine is expensive to build, so it is built once per
process (``default_analyzer`` for the pattern-only engine, or the adapter in
``infra.clients.pii`` with spaCy) and passed in.

Design rules, each learnt from a miss:

* every value with a checksum is validated (Luhn for cards; python-stdnum for
  IBANs with their country's length, INSEE numbers, BSNs, Aadhaar and the
  German Steuer-ID), so order ids and batch numbers of the same length pass;
* values without a checksum (9-digit SSNs, passports, dates of birth) need a
  context word next to them ("SSN", "passport", "born", "Geburtsdatum"), so a
  date in prose or a format example such as ``+000000120`` is left alone;
* a context word relaxes the shape rules instead of replacing them: after
  "National Insurance number" any two letters, six digits and a suffix is an
  id (HMRC's own examples and temporary numbers use prefixes that are never
  allocated), as any 8-15 digit number after "SSN" is;
* person names from spaCy's English NER are trusted in English text only: on
  German or French text it tags capitalised nouns ("Welche Regeln") as people;
* a card may be written with any separator (spaces, dots, dashes, slashes,
  underscores) in any grouping: it is found by its digits, not its layout;
* spaCy's small English NER misses names it has not seen (and is not trusted
  on other languages), so a gazetteer of given names from many cultures adds
  names in any language: a known given name followed by capitalised name words
  ("Camille Lefebvre", "Youssef El Amrani", "Nguyen Thi Lan" surname first), or
  two lower-case name words after a role word ("customer rosa delgado"). The
  gazetteer is passed in (``build_analyzer(given_names=...)``); without it only
  the cue-word patterns find names. Names are looked up with accents folded
  ("Małgorzata", "Nguyễn"); Chinese, Japanese and Korean names are found by
  the honorific after them ("山田 花子さん");
* an address is a street (its type word before or after the name, as each
  country writes it) and a house number ("84/92", "452-II", "5 bis"), then
  whatever follows it in that country: floor and door ("3º B", "m. 15"),
  postcode and town in either order ("00-514 Warszawa", "Leeds LS6 2PQ",
  "Dublin 6, D06 X2K4"), so no digit-bearing part is left behind;
* phone-shaped digits glued to a code in capitals ("APP-2024-000731") are an
  identifier's, not a phone number;
* an address is also found by what surrounds it when no street pattern knows
  its country: a label or a verb of dwelling in many languages ("Zustelladresse:",
  "habite", "bor på", "주소:"), a postcode and town at the end of comma-separated
  parts that start with a house number ("House 27, Street 14, F-7/2, Islamabad
  44000"), a postcode that is an address on its own (UK, Eircode, Canada), or
  the fields of a form ("Street: ..., ZIP: ..."); whatever units, floors,
  postcodes and towns follow a found address are taken with it, and findings
  of one address are joined into one value;
* a family-name list (``surnames``) is used only beside another cue: after a
  given name that is an English word ("Hope Adeyemi"), after initials
  ("J. R. Okafor"), or in lower case ("grace kim and mark o'brien"); a single
  given name counts when announced ("Talked to Sanjay, the borrower's brother");
* placeholder towns (Anytown), ledger accounts ("GL account 4010-200-300"),
  place names and methods spaCy takes for people ("Canary Wharf", "Monte
  Carlo") are left alone; placeholder names ("John Doe") are redacted, as
  people really bear them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Sequence

PII_KINDS = ("email", "phone", "card", "iban", "bank_account", "national_id", "date_of_birth", "passport", "address", "person", "ip_address")

# Presidio entity type -> kind. Built-in recognizers keep their names; ours use ours.
ENTITY_KINDS: dict[str, str] = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "card",
    "IBAN_CODE": "iban",
    "BANK_ACCOUNT": "bank_account",
    "NATIONAL_ID": "national_id",
    "DATE_OF_BIRTH": "date_of_birth",
    "PASSPORT": "passport",
    "ADDRESS": "address",
    "PERSON": "person",
    "IP_ADDRESS": "ip_address",
}

# When two findings overlap, the kind earlier here keeps the characters.
_PRIORITY = {kind: i for i, kind in enumerate(("email", "iban", "card", "bank_account", "national_id", "passport", "date_of_birth", "ip_address", "phone", "address", "person"))}

PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}

# Phone regions whose national formats are recognised; numbers written with
# "+" or "00" are found whatever their country. More regions cost ~3 ms each.
DEFAULT_PHONE_REGIONS = ("US", "GB")

MIN_SCORE = 0.35  # Presidio's phone recognizer scores a valid number 0.4


@dataclass(frozen=True)
class Redaction:
    """Text with its PII replaced.

    Attributes:
        text: The redacted text; each value is replaced by ``[KIND]`` (``[CARD]``, ``[IBAN]``...).
        found: Number of values per kind, only for kinds that were found.
    """

    text: str
    found: dict[str, int]


# --- checksums -----------------------------------------------------------------------


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """Whether a digit string passes the Luhn checksum used by payment cards.

    Args:
        number: Digits, possibly with separators (non-digits are ignored).

    Returns:
        True when the checksum holds and there is at least one digit.
    """
    digits = _digits(number)
    if not digits:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Check digits and national formats come from python-stdnum (IBAN country lengths and BBAN formats,
# Verhoeff, the Dutch 11-test, ISO 7064 MOD 11,10, the NIR key): none of them hand-written here.
def iban_valid(value: str) -> bool:
    """An IBAN (spaces, dots or dashes allowed): its country's length and format, and the ISO 13616 mod-97 check."""
    from stdnum import iban

    return iban.is_valid(re.sub(r"[\s.-]", "", value).upper(), check_country=False)


def aadhaar_valid(value: str) -> bool:
    """Indian Aadhaar: 12 digits, first 2-9, not a palindrome, Verhoeff check digit."""
    from stdnum.in_ import aadhaar

    return aadhaar.is_valid(_digits(value))


def bsn_valid(value: str) -> bool:
    """Dutch BSN: 9 digits passing the 11-test."""
    from stdnum.nl import bsn

    d = _digits(value)
    return len(d) == 9 and d != "000000000" and bsn.is_valid(d)


def steuer_id_valid(value: str) -> bool:
    """German tax id (Steuer-ID): 11 digits, no leading 0, ISO 7064 MOD 11,10 check digit."""
    from stdnum.de import idnr

    return idnr.is_valid(_digits(value))


def za_id_valid(value: str) -> bool:
    """South African identity number: 13 digits, a birth date, a Luhn check digit."""
    from stdnum.za import idnr

    return idnr.is_valid(value)


def insee_valid(value: str) -> bool:
    """French social security number (NIR/INSEE): 13 characters (Corsica 2A/2B) and a 2-digit key."""
    from stdnum.fr import nir

    return nir.is_valid(re.sub(r"[\s.-]", "", value).upper())


# --- recognizers -----------------------------------------------------------------------
# A finding is (start, end, kind, score). Recognizers are plain functions of the
# text; ``_PatternFinder`` wraps them for Presidio.

Finding = tuple[int, int, str, float]

_SEP = r"[ .\-/_]"
_WB_L = r"(?<![\w])"
_WB_R = r"(?![\w])"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# Any run of 13-19 digits with at most one separator between digits, whatever
# the grouping: "4111.1111.1111.1111", "4532 015112 830366", "5529/0000/0000/0019".
_CARD = re.compile(r"(?<![\w.,/-])\d(?:" + _SEP + r"?\d){12,18}(?![\w]|[.,/-]\d)")

_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ .-]?[A-Za-z0-9]){10,30}(?![\w])")

# US SSN with separators; never-issued areas/groups/serials excluded.
_SSN_SEP = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w]|-\d)")

# UK National Insurance number.
_NINO = re.compile(
    r"(?<![\w])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w])",
    re.IGNORECASE,
)

# Any NINO-shaped value (allocated or not) when announced: "NI number QQ 12 34 56 C".
_NINO_CONTEXT = re.compile(r"\b(?:national\s+insurance(?:\s+(?:no|number|#))?|ni\s*(?:no|number|#)|nino)\b\.?\s*(?:is|:|=|-)?\s*$", re.IGNORECASE)
# The suffix too: temporary "TN" numbers end in M or F.
_NINO_LOOSE = re.compile(r"(?<![\w])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Z](?![\w])", re.IGNORECASE)

# A number-like token: digits, optionally grouped by spaces, dots or dashes.
_NUMBERISH = re.compile(r"(?<![\w.-])\d(?:[ .\-]?\d){7,16}(?![\w]|[.-]\d)")

# An identifier-looking token: capitals and digits (5+ digits), or digit groups joined by slashes.
_ID_TOKEN = re.compile(r"(?<![\w/])(?:(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8,18}|[A-Z0-9]{1,6}(?:-[A-Z0-9]{1,8}){1,4}|\d{2,6}(?:/\d{2,6})+)(?![\w/])")

# Words that announce a national identifier, in the languages applicants write in.
_NATIONAL_ID_CONTEXT = re.compile(
    r"\b(?:ssn|ss#|social(?:\s+security)?(?:\s+(?:no|number|#))?|national\s+(?:id|insurance|identity)|id\s+(?:no|number)|"
    r"tax\s+(?:id|identification|number)|tin|itin|steuer[\s-]?(?:id|identifikationsnummer|nummer)|"
    r"(?:steuerliche\s+)?identifikationsnummer|idnr|insee|nir|s[ée]curit[ée]\s+sociale|num[ée]ro\s+fiscal|"
    r"aadhaa?r|uid(?:ai)?|bsn|burgerservicenummer|sofinummer|pesel|dni|nie|nif|codice\s+fiscale|personnummer|"
    r"henkil[öo]tunnus|cpr|curp|rfc|sin|cpf|pps|n[uú]mero\s+de\s+identificaci[oó]n|nhs(?:\s+(?:no|number))?|medicare|"
    r"nric|fin|hkid|mykad|nik|ktp|tc\s+kimlik(?:\s+no)?|kimlik\s+no|emirates\s+id|nin|bvn|pan(?:\s+card)?|ahv|avs|svnr|"
    r"rijksregisternummer|egn|cnp|oib|jmbg|amka|tfn|ird(?:\s+number)?|pesel|nip|rut|dni|cuil|cuit|"
    r"personalausweis(?:nummer)?|ausweisnummer|carte\s+d'identit[ée]|num[ée]ro\s+d'identit[ée]|id\s+card(?:\s+(?:no|number))?|"
    r"identity\s+(?:card|number)|driver'?s?\s+licen[cs]e(?:\s+(?:no|number))?|driving\s+licen[cs]e(?:\s+(?:no|number))?|"
    r"licen[cs]e\s+(?:no|number)|dl(?:\s*(?:no|#|number))?|f[üu]hrerschein(?:nummer|-?nr)?|permis\s+de\s+conduire|carn[eé]\s+de\s+conducir|"
    r"carteira\s+de\s+motorista|cnh|patente(?:\s+di\s+guida)?|rijbewijs(?:nummer)?|prawo\s+jazdy|k[öo]rkort|"
    # "South African ID 8704...", "Kenyan ID no. 2938...": a nationality, then "ID".
    r"(?:south\s+african|kenyan|nigerian|ghanaian|ugandan|tanzanian|zambian|zimbabwean|botswanan|namibian|egyptian|moroccan|tunisian|"
    r"indian|pakistani|bangladeshi|sri\s+lankan|nepali|chinese|taiwanese|korean|japanese|thai|malaysian|indonesian|filipino|philippine|"
    r"vietnamese|singaporean|turkish|israeli|emirati|saudi|qatari|kuwaiti|jordanian|lebanese|iranian|iraqi|brazilian|argentin(?:e|ian)|"
    r"chilean|colombian|peruvian|mexican|venezuelan|ecuadorian|uruguayan|spanish|italian|french|german|dutch|belgian|swiss|austrian|"
    r"polish|czech|slovak|hungarian|romanian|bulgarian|greek|croatian|serbian|slovenian|ukrainian|russian|belarusian|estonian|"
    r"latvian|lithuanian|finnish|swedish|norwegian|danish|icelandic|irish|portuguese|luxembourgish|maltese|cypriot|canadian|"
    r"australian|american|british)\s+(?:national\s+)?id(?:entity)?(?:\s+(?:card|no|nr|number|#))?)\b",
    re.IGNORECASE,
)

_PASSPORT_CONTEXT = re.compile(
    r"\b(?:passport|passeport|reisepass(?:nummer)?|pass(?:nummer)?|pasaporte|passaporto|paspoort(?:nummer)?|passaporte|paszport|pasaport)\b"
    r"(?:\s+(?:no|nr|number|num[ée]ro|nummer|n[uú]mero|#|id))?\.?",
    re.IGNORECASE,
)
# Passport numbers: 6-9 letters and digits, with at least one digit.
_PASSPORT_VALUE = re.compile(r"(?<![\w])(?=[A-Z0-9]*\d)[A-Z0-9]{6,9}(?![\w])")

_DOB_CONTEXT = re.compile(
    r"\b(?:birth_?date|date_?of_?birth|born|birth(?:day|date)?|dob|d\.o\.b\.?|date\s+of\s+birth|geboren|geburtsdatum|geburtstag|n[ée]e?|"
    r"date\s+de\s+naissance|fecha\s+de\s+nacimiento|nacid[oa]|nat[oa]|data\s+di\s+nascita|data\s+de\s+nascimento|"
    r"nascid[oa]|geboortedatum|geboren\s+op|geb\.|fecha\s+nac\.?|data\s+urodzenia|urodzon[ya]|doğum\s+tarihi|"
    r"födelsedatum|fødselsdato|syntymäaika|data\s+nașterii|születési\s+dátum|birth\s+date|född|født|fødd|syntynyt|"
    r"narozen[áa]?|rođen[a]?|doğdu|doğumlu|geb(?:oren)?\s+am|né(?:e)?\s+le|naci[óo](?:\s+el)?|nasceu(?:\s+em)?|naît|n[ée]e?\s+en|"
    r"(?:è|e)\s+nat[oa](?:\s+il)?|urodził[a]?\s+się|родил(?:ся|ась)|дата\s+рождения|народи(?:вся|лася)|дата\s+народження|born\s+on|birthday\s+is|cumpleaños|geburtstag\s+ist|"
    r"(?<![\w.])b\.(?=\s*$))(?!\w)",
    re.IGNORECASE,
)
# A compact date right after a birth label: "birth_date=19930615", "DOB: 15061993".
_DOB_COMPACT = re.compile(r"(?<![\w])(?:(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d{2})(?![\w])")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|"
    r"nov(?:ember)?|dec(?:ember)?|januar|februar|märz|mai|juni|juli|oktober|dezember|janvier|f[ée]vrier|mars|avril|"
    r"juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
    r"septiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    r"janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|dezembro|januari|februari|maart|mei|augustus|"
    r"stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia|"
    r"ocak|şubat|nisan|mayıs|haziran|temmuz|ağustos|eylül|ekim|kasım|aralık|"
    r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    r"січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня|"
    r"ledna|února|března|dubna|května|června|července|srpna|září|října|listopadu|prosince)\.?"
)
_DATE = re.compile(
    r"(?<![\w./-])(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2}|"
    r"\d{1,2}(?:st|nd|rd|th|er|º|ª|\.)?[\s-]+(?:(?:of|de|di|del)\s+)?" + _MONTHS + r",?[\s-]+(?:(?:de|del)\s+)?(?:19|20)\d{2}|"
    + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2})(?![\w]|[./-]\d)",
    re.IGNORECASE,
)

_STREET_WORDS = (
    r"(?i:street|st|road|rd|avenue|ave|terrace|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|close|crescent|"
    r"square|sq|parkway|pkwy|highway|hwy|row|mews|gardens|grove|hill|walk|loop|circle|cir|trail|trl|plaza|alley|parade|"
    r"esplanade|embankment|quay|wharf|cross|main|layout|nagar|marg|colony|sector)"
)
_CAP = r"[A-ZÀ-Þ][a-zà-ÿ'’-]+"  # a capitalised word (street or city name)
# "742 Evergreen Terrace, Springfield", "221B Baker Street, London NW1 6XE"; an
# optional "Flat 4," in front and ", City [POSTCODE]" behind.
_ADDRESS_EN = re.compile(
    r"(?:(?i:flat|apt\.?|apartment|unit|suite|house|villa|plot|door)\s+[\w-]+,?\s+(?:(?:" + _CAP + r"\s+){0,3}" + _CAP + r",\s+)?)?"
    r"\b(?:\d{1,5}[-/])?\d{1,5}[A-Za-z]?,?\s+(?:(?:N|S|E|W|NE|NW|SE|SW)\.?\s+)?(?:(?:" + _CAP + r"|[A-Z]{2,3}|\d{1,3}(?:st|nd|rd|th))\s+){1,3}" + _STREET_WORDS + r"\b\.?"
    r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\b)?"
    r"(?:,?\s+(?i:apt\.?|apartment|unit|suite|ste\.?|flat|floor|fl\.?|#)\s*\w{1,5}\b)?"
    r"(?:,\s*" + _CAP + r"(?:\s+" + _CAP + r")?(?:,?\s+(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{6}|\d{5}(?:-\d{4})?|"
    r"(?:[A-Z]{2}\s+)?[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{2}\b(?:\s+\d{5}(?:-\d{4})?)?))?)?",
)
# "Hauptstraße 12, 10115 Berlin", "Rue de Rivoli 99, 75001 Paris", "Kerkstraat 5, 1017 GC Amsterdam".
_ADDRESS_EU = re.compile(
    r"(?:\b(?i:rue|avenue|boulevard|place|chemin|all[ée]e|impasse|quai|calle|avenida|plaza|via|viale|piazza|rua)\s+"
    r"(?:(?:de|del|della|des|du|la|le|l'|d')\s*)*" + _CAP + r"(?:\s+" + _CAP + r")?"
    r"|\b[A-ZÀ-Þ][\wÀ-ÿ-]*(?:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|straat|laan|gracht|plein|kade|vej|gatan|gade))"
    r"\s+\d{1,4}[a-zA-Z]?"
    r"(?:,\s*(?:\d{4,5}(?:\s?[A-Z]{2})?\s+)?" + _CAP + r")?",
)
_NAME_PART = r"[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þ][a-zà-ÿ'’]+)*"  # "Saint-Honoré"
# Number first, as France, Spain, Italy and Portugal write it: "12 Rue de la Paix, 75002 Paris".
_ADDRESS_NUMBER_FIRST = re.compile(
    r"\b(?:\d{1,5}-)?\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e|impasse|quai|cours|calle|avenida|plaza|"
    r"via|viale|piazza|corso|rua|travessa)\s+(?:(?i:de|del|della|des|du|la|le|les|l'|d'|do|da|dos|das)\s*)*" + _NAME_PART + r"(?:\s+" + _NAME_PART + r"){0,3}"
    r"(?:\s+(?:O|E|N|S|Ouest|Est|Nord|Sud)\b)?"
    r"(?:,\s*(?:\d{4,5}\s+)?" + _CAP + r")?",
)
_ADDRESS_LEAD = re.compile(r"\b\d{1,4}[a-z]?,?\s+(?:rue|avenue|boulevard|chemin|calle|via|rua)\s+", re.IGNORECASE)

# Names announced by the writer: "my name is Maria Gonzalez", "Mr. Kowalski".
_NAME_WORD = r"(?:(?:al|el|bin|ibn|abu|ben|d|o)[-'’])?[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þ][a-zà-ÿ'’]+)?"  # "Anna-Lena", "al-Rashidi"
_PERSON_CONTEXT = re.compile(
    r"(?i:\b(?:my|his|her|their)\s+name\s+is|\bname\s*:|\bfull\s+name(?:\s+is|\s*:)?|\b(?:customer|client|applicant|borrower|account)\s+name(?:\s+is|\s*:)|"
    r"\b(?:nombre(?:\s+completo)?|nom(?:\s+complet)?|vorname|nachname|name|naam|nome(?:\s+completo)?|imi[ęe](?:\s+i\s+nazwisko)?)\s*:|\bthis\s+is|\bi\s+am|\bi'm|\bich\s+bin|\bich\s+hei(?:ß|ss)e|"
    r"\bje\s+m'appelle|\bme\s+llamo|\bmi\s+chiamo|\bmijn\s+naam\s+is|"
    r"\b(?:my|his|her)\s+(?:father|mother|husband|wife|son|daughter|brother|sister|partner),?)\s+"
    r"(" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r"){0,2})",
)
_TITLE_NAME = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Monsieur|Madame|Mme|Sr|Sra|Sig|Sig\.ra|Señor|Señora|Senhor|Senhora|Signor|Signora|"
    r"[Mm]evrouw|Mevr|[Mm]eneer|Dhr|[Dd]e\s+heer)\.?\s+(" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r")?)"
)
# Capitalised words that follow "I'm" / "this is" without being names.
_NOT_NAMES = frozenset(
    "The A An I It This That Not Self Self-Employed Employed Unemployed Retired Sorry Happy Interested Trying Looking New "
    "Here There Still Just Also Currently Calling Writing Asking Applying From With Your Our Tandem Tenant Admin Done "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday English French German Spanish".split()
)


def _context_before(text: str, start: int, pattern: re.Pattern[str], window: int = 40) -> bool:
    return pattern.search(text[max(0, start - window) : start]) is not None


_AT = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+(?:at|AT)\s+)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+(?:dot|DOT)\s+|\.)"
_EMAIL_SPELLED = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*" + _AT + r"[A-Za-z0-9-]+(?:" + _DOT + r"[A-Za-z0-9-]+)*" + _DOT +
    r"(?:com|org|net|edu|gov|io|co|info|biz|example|mail|online|app|dev|tech|[a-z]{2})\b",
    re.IGNORECASE,
)


def _find_emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), "email", 1.0
    # Spelled-out "at" and "dot"; a bracketed or spelled word must be present, so "meet at noon.com" needs "dot".
    for m in _EMAIL_SPELLED.finditer(text):
        if "@" not in m.group() and re.search(r"[\[({<]|\bdot\b", m.group(), re.IGNORECASE):
            yield m.start(), m.end(), "email", 0.9


def _find_cards(text: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        # Issuer digits 2-6 (Mastercard 2-series, Amex 3, Visa 4, Mastercard 5, Discover 6).
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            yield m.start(), m.end(), "card", 1.0
            continue
        # A trailing group may not belong to the card ("4111 1111 1111 1111 2027"):
        # try shorter prefixes that end at a separator.
        value = m.group()
        for cut in [i for i, ch in enumerate(value) if not ch.isdigit()][::-1]:
            head = _digits(value[:cut])
            if 13 <= len(head) <= 19 and head[0] in "23456" and luhn_valid(head):
                yield m.start(), m.start() + cut, "card", 0.9
                break


def _find_ibans(text: str) -> Iterator[Finding]:
    pos = 0
    while (m := _IBAN.search(text, pos)) is not None:
        value = m.group()
        pos = m.start() + 1
        # The greedy run may swallow the words after it (and a second IBAN): shrink at separators until the check holds.
        cuts = [len(value)] + [i for i in range(len(value) - 1, 0, -1) if value[i] in " .-"]
        for cut in cuts:
            if iban_valid(value[:cut]):
                yield m.start(), m.start() + cut, "iban", 1.0
                pos = m.start() + cut
                break
        else:
            pos = m.start() + 4 if len(value) > 4 else m.end()


# Ids whose shape alone is distinctive: an Italian codice fiscale (surname, name, birth date and place
# codes, check letter) and a Chinese resident identity number (18 digits, ISO 7064 check character).
_CODICE_FISCALE = re.compile(r"(?<![\w])[A-Z]{6}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z](?![\w])")
_CN_RESIDENT_ID = re.compile(r"(?<![\dA-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])")


def cn_resident_id_valid(value: str) -> bool:
    """The ISO 7064 MOD 11-2 check character of an 18-character Chinese resident identity number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(value[:17], weights))
    return "10X98765432"[total % 11] == value[17].upper()


# Domestic bank details announced by their label: "sort code 20-45-77, account 41234567",
# "routing number 021000021", "Kontonummer 0532013000", "a/c no. 50100234567890".
_BANK_CONTEXT = re.compile(
    r"\b(?:(?:bank\s+)?(?:account|acct)\.?(?:\s+(?:no|nr|number|num|#))?|a/c(?:\s+no)?|sort\s*code|routing\s+(?:no|number|#)|aba(?:\s+(?:no|number|routing))?|"
    r"bsb|transit(?:\s+number)?|institution(?:\s+(?:no|number))?|routing|rtn|blz|bankleitzahl|acc|kontonummer|konto(?:-?nr)?|num[ée]ro\s+de\s+compte|n[uú]mero\s+de\s+(?:cuenta|conta)|numero\s+(?:di\s+)?conto|"
    r"rekeningnummer|numer\s+konta|(?:numer|nr)\s+rachunku|rachunek|conto\s+corrente|clabe)\b\.?(?:\s+\w+)?\s*(?:is|was|:|=|-|\(\w+\))?\s*$",
    re.IGNORECASE,
)
_BANK_VALUE = re.compile(r"(?<![\w.,/-])\d(?:[ -]?\d){5,19}(?![\w]|[.,/-]\d)")


# A bank code too short for ``_BANK_VALUE`` right after its label: "institution 003", "transit 00102".
_BANK_CODE = re.compile(r"(?i)\b(?:institution|transit|bsb|blz|sort\s*code)\s*(?:no\.?|number|#|:)?\s*(\d{3,5}(?:[ -]\d{3})?)(?![\w-])")


_LEDGER_ACCOUNT = re.compile(r"(?i)\b(?:gl|g/l|general\s+ledger|ledger|nominal|cost\s+cent(?:re|er)|chart\s+of)\s+(?:account|acct|a/c)\b[^\d]{0,12}$")


def _find_bank_accounts(text: str) -> Iterator[Finding]:
    for m in _BANK_VALUE.finditer(text):
        if _context_before(text, m.start(), _BANK_CONTEXT, window=30) and not _LEDGER_ACCOUNT.search(text, max(0, m.start() - 40), m.start()):
            yield m.start(), m.end(), "bank_account", 0.8
            # a second number written after it with a slash: "12345678 / 71234509"
            more = re.match(r"\s*/\s*(\d(?:[ -]?\d){5,19})(?![\w]|[.,/-]\d)", text[m.end():])
            if more:
                yield m.end() + more.start(1), m.end() + more.end(1), "bank_account", 0.8
    for m in _BANK_CODE.finditer(text):
        yield m.start(1), m.end(1), "bank_account", 0.7


# An identity number after its label in Chinese, Japanese or Korean, checksum or not: "身份证号码 1101...",
# "マイナンバーは1234 5678 9012", "주민등록번호: 900101-1234567".
_ID_LABEL_CJK = re.compile(
    r"(?:公民身份号码|居民身份证|身份证|身份證|证件号码|證件號碼|マイナンバー|個人番号|住民票コード|주민등록번호|주민번호|외국인등록번호)"
    r"(?:号码|號碼|号|號|番号|번호)?\s*(?:[:：是为為は은는]|が|\s)?\s*(\d(?:[ -]?\d){9,17}[\dXx]?)(?![\d])"
)
# An id word with a few words between it and a colon: "Personalausweisnummer des Kunden: C7H2K9R41".
_ID_LABEL_BEFORE = re.compile(_NATIONAL_ID_CONTEXT.pattern + r"(?:\s+\w+){0,3}\s*[:=]\s*$", re.IGNORECASE)


def _find_national_ids(text: str) -> Iterator[Finding]:
    for m in _CODICE_FISCALE.finditer(text):
        yield m.start(), m.end(), "national_id", 0.9
    for m in _CN_RESIDENT_ID.finditer(text):
        if cn_resident_id_valid(m.group()):
            yield m.start(), m.end(), "national_id", 0.95
    for m in _ID_LABEL_CJK.finditer(text):
        yield m.start(1), m.end(1), "national_id", 0.9
    for pattern in (_SSN_SEP, _NINO):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "national_id", 1.0
    for m in _NINO_LOOSE.finditer(text):
        if _context_before(text, m.start(), _NINO_CONTEXT, window=30):
            yield m.start(), m.end(), "national_id", 0.9
    for m in _NUMBERISH.finditer(text):
        value, digits = m.group(), _digits(m.group())
        context = _context_before(text, m.start(), _NATIONAL_ID_CONTEXT)
        # Checksummed ids stand on their own when written in their usual grouping
        # or announced; any 8-15 digit number right after an id word is an id too.
        if context and 8 <= len(digits) <= 18:
            yield m.start(), m.end(), "national_id", 0.9
        elif (len(digits) == 15 and insee_valid(value)) or (
            len(digits) == 12 and aadhaar_valid(value) and re.fullmatch(r"\d{4}[ -]\d{4}[ -]\d{4}", value)
        ):
            yield m.start(), m.end(), "national_id", 0.8
    # An id word announces letters too ("DNI 12345678Z", "codice fiscale RSSMRA85T10A562S") and
    # slashed tax numbers ("Steuernummer 93815/08152"): the first such token right after it.
    for m in _ID_TOKEN.finditer(text):
        digits = _digits(m.group())
        if (5 <= len(digits) <= 16 or (len(digits) >= 4 and len(m.group()) >= 10)) and (_context_before(
                text, m.start(), _NATIONAL_ID_CONTEXT, window=25) or _ID_LABEL_BEFORE.search(text[max(0, m.start() - 60) : m.start()])):
            yield m.start(), m.end(), "national_id", 0.85
    # Singapore NRIC/FIN (a letter, seven digits, a check letter): "S8834127I"; a South African identity
    # number (13 digits, a birth date, a Luhn check digit).
    for m in re.finditer(r"(?<![\w])[STFGM]\d{7}[A-Z](?![\w])", text):
        yield m.start(), m.end(), "national_id", 0.85
    for m in re.finditer(r"(?<![\w.-])\d{13}(?![\w]|[.-]\d)", text):
        if za_id_valid(m.group()):
            yield m.start(), m.end(), "national_id", 0.85
    # Hong Kong identity card numbers carry their check digit in brackets: "K482913(1)", "AB123456(9)".
    for m in re.finditer(r"(?<![\w])[A-Z]{1,2}\d{6}\s?\([0-9A]\)", text):
        yield m.start(), m.end(), "national_id", 0.9
    # INSEE numbers are often written in their groups: "1 85 05 78 006 048 30".
    for m in re.finditer(r"(?<![\w])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w])", text):
        if insee_valid(m.group()):
            yield m.start(), m.end(), "national_id", 0.9


def _find_passports(text: str) -> Iterator[Finding]:
    for ctx in _PASSPORT_CONTEXT.finditer(text):
        tail = text[ctx.end() : ctx.end() + 40]
        m = _PASSPORT_VALUE.search(tail.upper())
        # Only the first plausible token after the word, and not a year or an amount.
        if m and not re.fullmatch(r"(?:19|20)\d{2}", m.group()):
            start = ctx.end() + m.start()
            yield start, start + len(m.group()), "passport", 0.85


# Chinese, Japanese and Korean write a birth date as year, month, day after its label: "生年月日は1992年4月8日".
_DOB_CJK = re.compile(r"(?:生年月日|出生日期|出生年月日|生日|생년월일|출생일)\s*[:：はが是为은는]?\s*((?:19|20)\d{2}\s*[年./년-]\s*\d{1,2}\s*[月./월-]\s*\d{1,2}\s*[日일]?)")


# A date with a two-digit year, only right after a birth label: "dob 7-4-85".
_DATE_SHORT_YEAR = re.compile(r"(?<![\w./-])\d{1,2}[./ -](?:\d{1,2}|" + _MONTHS + r")[./ -]\d{2}(?![\w]|[./-]\d)", re.IGNORECASE)
# A date written in words: "the ninth of January 1990", "January the 9th, 1990".
_ORDINAL_WORDS = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|"
                  r"sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty[-\s](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
                  r"thirtieth|thirty[-\s]first)")
_DATE_WORDS = re.compile(r"(?:the\s+)?" + _ORDINAL_WORDS + r"\s+of\s+" + _MONTHS + r",?\s+(?:19|20)\d{2}\b", re.IGNORECASE)


def _find_dates_of_birth(text: str) -> Iterator[Finding]:
    for m in _DATE_SHORT_YEAR.finditer(text):
        if _context_before(text, m.start(), _DOB_CONTEXT, window=12):
            yield m.start(), m.end(), "date_of_birth", 0.8
    for m in _DATE_WORDS.finditer(text):
        before = re.split(r"[.!?;\n](?:\s|$)", text[max(0, m.start() - 120) : m.start()])[-1]
        if _DOB_CONTEXT.search(before):
            yield m.start(), m.end(), "date_of_birth", 0.8
    for m in _DATE.finditer(text):
        # The cue right before the date, or earlier in the same sentence ("born on March 27, 1990 and the
        # bureau has March 27, 1999"; "Geburtsdatum des Kreditnehmers: 03.09.1968").
        before = re.split(r"[.!?;\n](?:\s|$)", text[max(0, m.start() - 120) : m.start()])[-1]
        if _context_before(text, m.start(), _DOB_CONTEXT, window=30) or _DOB_CONTEXT.search(before):
            yield m.start(), m.end(), "date_of_birth", 0.85
    for m in _DOB_CJK.finditer(text):
        yield m.start(1), m.end(1), "date_of_birth", 0.85
    for m in _DOB_COMPACT.finditer(text):
        if _context_before(text, m.start(), _DOB_CONTEXT, window=16):
            yield m.start(), m.end(), "date_of_birth", 0.85


_PO_BOX = re.compile(
    r"\b(?:(?:RR|R\.R\.|HC|Rural\s+Route)\s*\d{1,3},?\s+Box|P\.?\s?O\.?\s+Box|PO\s+Box|Post\s+Office\s+Box|Postfach|Apartado(?:\s+de\s+correos)?|Casilla|Bo[iî]te\s+postale|BP|Postbus|Skrytka\s+pocztowa)"
    r"\s+\d{1,6}(?:,\s*(?:\d{4,5}\s+)?" + _CAP + r"(?:\s+" + _CAP + r")?(?:,?\s+[A-Z]{2}\s+\d{5})?)?",
)


# Letters of Latin-script street and city names, Polish, Czech, Turkish... included ("Łódź", "Śląska").
_UP = r"A-ZÀ-Þ\u0100-\u017f"
_LO = r"a-zà-ÿ\u0100-\u017f"
_PLACE_WORD = r"[" + _UP + r"][" + _LO + r"'’]+(?:-[" + _UP + r"]?[" + _LO + r"'’]+)*"
# A house number as countries write it: "17a", "5 bis", "84/92", "452-II", "263-1", "118bis".
_HOUSE_NUMBER = r"\d{1,5}(?:\s?(?:bis|ter)\b|[a-zA-Z]\b|[/-]\d{1,4}[a-zA-Z]?\b|-[IVX]{1,4}\b)*"
# Street type words written before the name (Romance and Slavic languages, with their abbreviations).
_STREET_BEFORE = (
    r"(?i:rue|avenue|av\.|boulevard|bd\.?|place|chemin|all[ée]e|impasse|quai|cours|route|calle|c/|avenida|avda\.?|plaza|paseo|carrer|ronda|camino|"
    r"via|viale|piazza|corso|largo|vicolo|rua|travessa|praça|estrada|alameda|ul\.|ulica|al\.|aleja|pl\.|plac|os\.|osiedle|strada|calea|"
    r"bulevardul|trg|ulice|náměstí|nábřeží)"
)
_PARTICLE = r"(?i:de|del|de\s+la|de\s+las|de\s+los|della|delle|dei|des|du|la|le|les|l'|d'|da|do|dos|das|di)"
# Prefix streets: "Calle de Alcalá 128", "ul. Marszałkowska 84/92", "Avenida da Liberdade 110", "C/ Mayor 7".
_ADDRESS_PREFIXED = re.compile(
    r"(?<![\w/])" + _STREET_BEFORE + r"\s*(?:" + _PARTICLE + r"\s*)*" + _PLACE_WORD + r"(?:\s+(?:" + _PARTICLE + r"\s+)?" + _PLACE_WORD + r"){0,3}"
    r",?\s+" + _HOUSE_NUMBER
)
# Suffix streets ("Keizersgracht 452-II", "Lindenallee 3b") and German streets named with a
# preposition ("Am Rosengarten 22"): the latter only with a postcode behind, as "Am" starts many phrases.
_ADDRESS_SUFFIXED = re.compile(
    r"\b[" + _UP + r"][\w\u00c0-\u017f-]*(?:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|straat|laan|gracht|plein|kade|singel|dijk|steeg|"
    r"markt|vej|gade|gatan|vägen|veien|gata|utca)\s+" + _HOUSE_NUMBER
)
# German and Austrian streets written in two words: "Mariahilfer Straße 115/2/14", "Lange Gasse 7", "Alte Landstraße 3".
_ADDRESS_TWO_WORD = re.compile(
    r"\b[" + _UP + r"][" + _LO + r"]+(?:er|e|es|en)\s+(?:Stra(?:ß|ss)e|Str\.|Gasse|Weg|Platz|Allee|Ring|Damm|Ufer|Chaussee|Landstra(?:ß|ss)e|Steig|Zeile)\s+" + _HOUSE_NUMBER
)
_ADDRESS_PREPOSITION = re.compile(
    r"\b(?:Am|An\s+der|An\s+den|Im|In\s+der|Auf\s+der|Auf\s+dem|Zum|Zur|Unter\s+den|Hinter\s+der|Vor\s+dem)\s+" + _PLACE_WORD + r"\s+" + _HOUSE_NUMBER
)
# What may follow a street and number: floor, door or flat ("3º B", "2º izq.", "m. 15", "Apt 5C", "4ºA"),
# then a postcode and a town in any of these orders and formats: "28009 Madrid", "1100-053 Lisboa",
# "00-514 Warszawa", "1016 GD Amsterdam", "Edinburgh EH9 1HY", "Dublin 6, D06 X2K4", "Austin, TX 78701".
_UNIT = (
    r"(?:\d{1,2}\s?[ºª°]\s?(?:[A-Za-z]{1,2}\b|(?i:izq(?:uierda)?|dcha|der(?:echa)?|izda|esq|dto|esquerdo|direito)\b\.?)?|"
    r"(?i:apto|dpto|depto|andar|bloco|sala|conj|apt|apartment|unit|suite|ste|flat|floor|fl|piso|planta|puerta|étage|etage|esc|escalera|m|"
    r"lok|lokal|app|appt|bus|stiege|top|whg|bte)\.?\s*[\w-]{1,5}\b|"
    r"(?i:izq|dcha|izda)\.?)"
)
_POSTCODE = r"(?:\d{4}-\d{3}|\d{2}-\d{3}|\d{4}\s?[A-Z]{2}\b|\d{5}|[A-Z]\d{2}\s?[A-Z0-9]{4}|\d{4}|\d{3}\s\d{2})"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"
_TOWN = r"(?:Co\.?\s+)?" + _PLACE_WORD + r"(?:\s+(?:(?:de|da|do|dos|das|del|la|le|sur|am|an\s+der|upon|on)\s+)?" + _PLACE_WORD + r"){0,2}"
_ADDRESS_TAIL = re.compile(
    r"(?:,?\s*" + _UNIT + r")*"
    r"(?:,?\s*" + _POSTCODE + r"\s+" + _TOWN + r"|,\s*" + _TOWN + r"(?:,\s*" + _TOWN + r")?(?:\s*-\s*[A-Z]{2}\b)?(?:\s+\d{1,2}\b)?(?:,?\s+(?:" + _UK_POSTCODE + r"|[A-Z]\d{2}\s?[A-Z0-9]{4}|"
    r"\d{5}-\d{3}|\d{6}|\d{5}(?:-\d{4})?|(?:[A-Z]{2}\s+)?[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{2,3}\s+\d{4,5}(?:-\d{4})?|\d{4}-\d{3}|\d{2}-\d{3}|\d{4})(?!\w))?|(?:\s+\d{1,2}\b)?,?\s+(?:" + _UK_POSTCODE + r"|[A-Z]\d{2}\s?[A-Z0-9]{4})\b"
    # A postcode right after a town the street pattern already took: "Wellington 6011", "Sydney NSW 2000".
    r"|\s+(?:[A-Z]{2,3}\s+)?(?:\d{5}-\d{3}|\d{4,6}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)(?![\w.,]\d|\w))?"
)
# Chinese, Japanese and Korean addresses run from the largest unit to the smallest and end in numbers:
# "大阪府大阪市北区梅田3丁目4-12", "北京市朝阳区建国路88号", "서울특별시 강남구 테헤란로 152".
_HAN = r"\u4e00-\u9fff"
_NUM = r"[0-9０-９]{1,5}"
_ADDRESS_CJK = re.compile(
    r"(?:[" + _HAN + r"]{1,4}?[都道府県省])?(?:[" + _HAN + r"\u30a0-\u30ff]{1,6}?[市区區町村郡县縣镇鎮])+[" + _HAN + r"\u3040-\u30ff]{0,12}?"
    r"(?:" + _NUM + r"(?:丁目|番地?|号|號|弄|[-－‐])){1,4}(?:" + _NUM + r"(?:号|號|番地?|室|楼|樓)?)?"
    r"|(?:[\uac00-\ud7a3]{2,8}(?:특별시|광역시|시|도)\s)?[\uac00-\ud7a3]{1,6}(?:구|군|시)\s[\uac00-\ud7a30-9]{1,10}(?:로|길)\s?\d{1,4}(?:-\d{1,4})?(?:,?\s?\d{1,3}층)?(?:,?\s?\d{1,5}호)?"
)
# Russian and Ukrainian addresses: street word, name, house ("д. 27"), then building, flat, town and postcode:
# "ул. Ленина, д. 27, кв. 54, Екатеринбург, 620014", "г. Москва, пр-т Мира, д. 12".
_CYR_UP, _CYR_LO = "А-ЯЁІЇЄҐ", "а-яёіїєґ"
_CYR_WORD = "[" + _CYR_UP + "][" + _CYR_LO + "'’-]+"
_ADDRESS_CYRILLIC = re.compile(
    r"(?:(?:\d{6},\s*)?(?i:г\.|город|м\.|місто)\s*" + _CYR_WORD + r",\s*)?"
    r"(?<![" + _CYR_UP + _CYR_LO + r"])(?i:ул\.|улица|вул\.|вулиця|пр\.|пр-т|просп\.|проспект|пров\.|пер\.|переулок|провулок|ш\.|шоссе|"
    r"бул\.|бульвар|б-р|наб\.|набережная|пл\.|площадь|мкр\.|микрорайон)\s*"
    r"(?:\d{1,3}-?(?:я|й|го)?\s)?" + _CYR_WORD + r"(?:\s[" + _CYR_UP + _CYR_LO + r"][" + _CYR_LO + r"'’-]+){0,2},?\s*"
    r"(?i:д\.|дом|буд\.|будинок)\s*\d{1,4}[" + _CYR_LO + r"]?(?:/\d{1,4})?"
    r"(?:,?\s*(?i:корп\.|корпус|к\.|стр\.|строение)\s*\d{1,3})?(?:,?\s*(?i:кв\.|квартира|оф\.|офис)\s*\d{1,4})?"
    r"(?:,\s*(?:(?i:г\.|м\.)\s*)?" + _CYR_WORD + r"(?:[\s-]" + _CYR_WORD + r")?)?(?:,?\s*\d{6}(?!\d))?"
)
_HAS_POSTCODE = re.compile(r"\d{4,5}|\d{2}-\d{3}|" + _UK_POSTCODE)


def _with_tail(text: str, start: int, end: int) -> int:
    """The end of the address that starts a street at ``text[start:end]``: units, postcode and town included."""
    tail = _ADDRESS_TAIL.match(text, end)
    return tail.end() if tail and tail.end() > end else end


# An American address written all in lower case, told by its ZIP code at the end:
# "5520 n sheridan rd apt 1102 chicago il 60640".
_ADDRESS_US_ANYCASE = re.compile(
    r"(?i)\b\d{1,6}\s+(?:[nsew]\.?\s+)?(?:[a-z0-9]+\s+){1,3}(?:st|street|rd|road|ave|avenue|blvd|boulevard|dr|drive|ln|lane|way|ct|court|pl|place|ter|"
    r"terrace|pkwy|parkway|hwy|highway|cir|circle)\b\.?(?:\s+(?:apt|unit|suite|ste|#)\.?\s*\w{1,6})?,?\s+(?:[a-z]+\s+){1,3}[a-z]{2},?\s+\d{5}(?:-\d{4})?\b"
)
# Japanese addresses in Latin letters: block numbers first, then district, ward or city, prefecture, postcode:
# "3-14-9 Nishi-Shinjuku, Shinjuku-ku, Tokyo 160-0023"; and a postcode after its mark "〒530-0012".
_ADDRESS_JP_LATIN = re.compile(
    r"\b\d{1,4}(?:-\d{1,4}){1,3}\s+[A-Z][a-z]+(?:-[A-Z]?[a-z]+)*(?:,\s*[A-Z][a-z]+(?:-[A-Z]?[a-z]+)*)*,?\s+(?:[A-Z][a-z]+(?:-(?:ken|to|fu))?,?\s+)?\d{3}-\d{4}\b"
)
# Unit first, street, locality, town and a six-digit PIN, as Indian addresses run:
# "Flat 502, Sai Krupa Apartments, 14th Cross, Indiranagar, Bengaluru 560038".
_ADDRESS_UNIT_FIRST_PIN = re.compile(
    r"\b(?i:flat|house|door|plot|h\.?\s?no\.?|no\.)\s*[\w/-]{1,8},\s+(?:[A-Z0-9][\w'.-]*(?:\s+[A-Za-z0-9][\w'.-]*){0,4},\s+){1,5}"
    r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s*-?\s*\d{6}\b"
)
_JP_POSTMARK = re.compile(r"〒\s?\d{3}-?\d{4}")


# An address introduced by a label or a verb of dwelling, in many languages: "Zustelladresse: ...",
# "Morada fiscal: ...", "correspondence address is ...", "habite au ...", "bor på ...", "주소: ...".
# The value runs to the end of the sentence and must hold a digit (a house number or a postcode).
_ADDRESS_LABEL = re.compile(
    r"(?<![\w-])(?:"
    r"(?i:(?:home|postal|mailing|correspondence|registered|residential|billing|shipping|delivery|permanent|current|previous|new|old|"
    r"business|office|fiscal|legal|forwarding|street|customer'?s?|borrower'?s?|client'?s?|guarantor'?s?)\s+)*"
    r"(?i:address|addr\.?|adress|adresse|anschrift|zustelladresse|wohnadresse|wohnanschrift|meldeadresse|postanschrift|lieferadresse|"
    r"direcci[óo]n|domicilio|morada|endere[çc]o|indirizzo|residenza|adres|adresa|adressen|osoite|c[íi]m|alamat|anwani|"
    r"residence|domicile|ship\s+to|send\s+to|deliver\s+to|mail\s+to|location\s+of\s+(?:the\s+)?(?:property|collateral))"
    r"(?:\s+[\w'’.-]+){0,6}?\s*(?:[:：=]|\s(?i:is|est|ist|es|é|è|er|är|on\s+file\s+is|now\s+is|reads))\s*"
    r"|(?i:lives|living|resides|residing|reside|located|moved|moving|relocated)\s+(?:at|in|to)\s+"
    r"|(?i:habite|réside|demeurant|domicilié[e]?)(?:\s+(?:au|à\s+l[a']|à|aux|en))?\s+"
    r"|(?i:abita|risiede|residente)\s+(?:in|a|al|alla|nel|nella)\s+|(?i:umgezogen|gezogen)\s+(?:nach|in\s+die|in\s+den|in)\s+"
    r"|(?i:na\s+adrese|adresa\s*:|bydl[íi]\s+na)\s*|(?i:adresi|adres)\s*:\s*|(?i:μένει\s+στην|διεύθυνση\s*:)\s*"
    r"|(?i:vive|reside|mora|residente)\s+(?:en\s+(?:la\s+|el\s+)?|na\s+|no\s+|em\s+|in\s+)"
    r"|(?i:wohnt|wohnhaft)(?:\s+(?:in\s+der|im|am|in))?\s+"
    r"|(?i:woont|wonend)\s+(?:op|aan|in)\s+|(?i:bor|bo)\s+på\s+|(?i:mieszka)\s+(?:przy|na|w)\s+"
    r"|(?:주소|住所|地址|住址|居住地)\s*[:：은는]?\s*"
    r"|(?i:адрес|адреса)(?:\s+[а-яё]+){0,2}\s*[:：]?\s*|(?:العنوان|عنوان)\s*[:：]?\s*|(?:כתובת)\s*[:：]?\s*)"
)
# Where an address introduced by a label ends: the end of its sentence, a line, or a clause mark.
_SENTENCE_END = re.compile(r"[!?;\n]|\.(?=\s|$)|\s[-–—]\s|\s\((?!(?:[A-ZÀ-Þ][\w\u00c0-\u017f.-]*\s?){1,3}\))")
# Words that end an address inside a sentence ("..., H2X 3K8 depuis 2019", "... and he ...").
_ADDRESS_STOP_WORDS = frozenset(
    "and or but since from until for because which who where when if is was are were has have had will would can could should "
    "please thanks instead depuis pour et mais seit und aber desde para y pero dal per e ma sinds voor en maar "
    "enligt sedan och men od i ale ve ile der die das".split()
)


def _labelled_address_end(text: str, start: int) -> int:
    """Where the address that starts at ``start`` ends: the sentence's end, or a word that starts a new clause."""
    limit = min(len(text), start + 140)
    end = limit
    for m in _SENTENCE_END.finditer(text, start, limit):
        if m.group().startswith("."):
            word = re.search(r"(\S+)$", text[start : m.start()])
            w = word.group(1) if word else ""
            # an abbreviation ("Co.", "Av.", "app.", "St.") does not end the sentence; a town or a postcode does
            if len(w) <= 3 and not any(ch.isdigit() for ch in w) and not (m.end() >= len(text) or text[m.end():m.end() + 2].strip()[:1].islower() is False and w.isupper() and len(w) >= 2):
                continue
        end = m.start()
        break
    words = list(re.finditer(r"\S+", text[start:end]))
    for i, w in enumerate(words):
        if i and w.group().lower().strip(",.") in _ADDRESS_STOP_WORDS and any(ch.isdigit() for ch in text[start : start + w.start()]):
            end = start + w.start()
            break
    return len(text[:end].rstrip(",.:; "))


# Words before "address" that make it something else than a postal address.
_NOT_POSTAL = re.compile(r"(?i)\b(?:ip|e-?mail|mac|web|url|wallet|memory|bind|listen|return|server|host|network|broadcast|gateway|proxy|"
                         r"contract|bitcoin|btc|eth|ethereum|hardware|physical|virtual|base|start|end|ipv[46])\s*$")


def _find_labelled_addresses(text: str) -> Iterator[Finding]:
    for m in _ADDRESS_LABEL.finditer(text):
        if _NOT_POSTAL.search(text, max(0, m.start() - 14), m.start()):
            continue
        start = m.end()
        end = _labelled_address_end(text, start)
        value = text[start:end]
        if not (6 <= len(value) <= 140) or not re.search(r"\d", value) or not re.search(r"[^\W\d_]{3,}", value):
            continue
        if "@" in value or "://" in value or re.fullmatch(r"[\d.:/\[\]a-fA-F ]+", value):
            continue  # an e-mail, a URL, an IP address: not a postal address
        if re.match(r"(?i)(?:the|a|an|this|that|it|which|whether|how|what|why|when|where)\b", value) or (
                value[:1].islower() and not text.islower() and not re.match(_STREET_BEFORE + r"\s", value)
                and not re.match(r"(?i)(?:apartment|apt|flat|unit|house|plot|no\.?|villa|room|block)\s*#?\d", value)):
            continue  # a sentence, not an address ("address is the key ...", "address is used for ...")
        if not re.search(r"(?<![\w.])\d{1,6}(?:[A-Za-z]|[/-]\d{1,4})*(?![\w.]|\.\d)", value) and not _STRONG_POSTCODE.search(value):
            continue  # no house number or postcode ("v2.3", "3.14" are not)
        yield start, end, "address", 0.6


# Postcodes that are addresses on their own (UK any case, Irish Eircode, Canadian): the comma-separated
# parts before one are the rest of the address ("Ballynacarriga, Dunmanway, Co. Cork, P47 K2T8",
# "12 elm grove, bristol bs7 9hp").
_STRONG_POSTCODE = re.compile(
    r"(?<![\w-])(?:[A-Za-z]{1,2}\d[A-Za-z\d]?\s\d[A-Za-z]{2}|[AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y\d]{4}|[A-Z]\d[A-Z]\s\d[A-Z]\d)(?![\w-])"
)
_ADDRESS_WORD = re.compile(r"#?\d{1,5}(?:st|nd|rd|th|\.)?(?:[/-]\d{1,5})*(?:[/-]?[A-Za-z])?|[A-Za-z]\d{4}|-|Co\.|St\.|[^\W\d_][\w'’./-]*")
# Lower-case words that belong to a street all the same: unit and street words ("plot 112", "Meyers gate 55").
_ADDRESS_LOWER_WORDS = frozenset(
    "plot block flat apt apartment unit house hse no. no door floor room tower lot sector phase road rd street st lane ln avenue ave "
    "gate gata gatan vei veien vej vägen gade straße strasse str. gasse weg platz via viale piazza corso rue avenue calle avenida rua "
    "travessa ulica ul. main cross layout nagar colony marg opp opp. near nr. behind beside".split()
)


def _address_words_before(piece: str, lower_case: bool) -> int:
    """How many characters at the end of ``piece`` read as part of an address: a house number and names
    (capitalised, or any word in a text written in lower case); 0 when none."""
    start = len(piece.rstrip())
    for m in reversed(list(re.finditer(r"\S+", piece))):
        word = m.group()
        if not _ADDRESS_WORD.fullmatch(word) or not (word[0].isdigit() or word[0] in "#-" or word[0].isupper() or lower_case or word in _ADDRESS_LOWER_WORDS):
            break
        if lower_case and word in _EN_FUNCTION:
            break
        start = m.start()
    return len(piece) - start if start < len(piece.rstrip()) else 0


def _find_postcode_addresses(text: str) -> Iterator[Finding]:
    lower_case = not any(ch.isupper() for ch in re.sub(_STRONG_POSTCODE, "", text))
    for m in _STRONG_POSTCODE.finditer(text):
        value = m.group()
        if value.islower() and not re.search(r"(?i)[a-z]{1,2}\d[a-z\d]?\s\d[a-z]{2}$", value):
            continue
        # comma-separated parts before it (the town may share the postcode's part), back to a colon or a sentence's end
        line_start = max(text.rfind(ch, 0, m.start()) for ch in ":\n;!?") + 1
        head = text[line_start : m.start()]
        if "," not in head:
            continue  # no part before the postcode's own: a postcode-shaped token, not an address
        pos, taken = m.start(), 0
        own = head[head.rfind(",") + 1 :]
        if own.strip():  # the town written before the postcode, in the same part: "bristol bs7 9hp"
            n = _address_words_before(own, lower_case)
            if not n:
                continue
            pos -= n
            head = head[: len(head) - len(own)]
        else:
            pos -= len(own)
            head = head[: len(head) - len(own)]
        while head.endswith(",") and taken < 4:
            head = head[:-1]
            piece = head[head.rfind(",") + 1 :]
            n = _address_words_before(piece, lower_case)
            if not n:
                break
            pos = line_start + len(head) - n
            taken += 1
            if n < len(piece.strip()):
                break  # only the end of this part is an address ("farm is near Kilcrohane"): it starts here
            head = head[: len(head) - len(piece)]
        if taken:
            yield pos, m.end(), "address", 0.6


# What may stand after a found address and still be part of it, piece by piece: a unit, a floor, a block
# number, a postcode with or without its town, a town before its postcode, a region in brackets.
_TOWN_WORDS = r"(?:[^\W\d_][\w'’.-]*(?:\s+(?:am|an|der|de|del|da|do|di|la|le|sur|upon|on)\s+[^\W\d_][\w'’.-]*|\s+[^\W\d_][\w'’.-]*){0,2})"
_POSTCODE_ANY = (r"(?:\d{3}\s\d{2}(?!\d)|\d{4}-\d{3}|\d{5}-\d{3}|\d{2}-\d{3}|[A-Z]\d{4}[A-Z]{3}|[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d|"
                 r"[A-Za-z]{1,2}\d[A-Za-z\d]?\s\d[A-Za-z]{2}|[AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y\d]{4}|\d{4,6})")
_TAIL_PIECE = re.compile(
    r"(?:,\s*|\s*[-–]\s*|\s+)(?:"
    r"(?P<unit>(?i:lgh|apt|apto|apartment|unit|flat|suite|ste|room|rm|floor|fl|piso|planta|daire|kat|block|blk|tower|bldg|building|"
    r"house|hse|plot|door|int|interno|scala|esc|app|appt|bus|bte|top|stiege|whg|wohnung|dept|depto|dpto|oficina|of|rd|r\.d)\.?:?\s*#?[\w/-]{1,8}(?![\w/-])"
    r"|(?<=\w )\d{1,4}(?=\s*,)"
    r"|#\s?\d{1,3}-\d{1,5}|[A-Z]\d{4}(?![\w-])|\d{1,4}\s?호"
    r"|\d{1,2}\.?\s?[ºª°]\s?(?:[A-Za-z]{1,5}\b\.?)?"
    r"|\d{1,2}\.\s?(?i:th|tv|mf|og|eg|dg|st|sal|kat|étage|etage|stock)\b\.?(?:\s+(?i:links|rechts|mitte))?)"
    r"|(?P<post>" + _POSTCODE_ANY + r"(?:\s+" + _TOWN_WORDS + r")?(?:\s*[/-]\s*[^\W\d_][\w'’.-]*)?)"
    r"|(?P<town>" + _TOWN_WORDS + r")(?=(?:,\s*|\s+)" + _POSTCODE_ANY + r"(?![\w-]))"
    r"|(?P<townpost>" + _TOWN_WORDS + r"\s+" + _POSTCODE_ANY + r")"
    r"|(?P<paren>\((?:[^()\n]{1,30})\))"
    r")(?![\w-])"
)
_HEAD_PIECE = re.compile(
    r"(?:(?i:room|rm|building|bldg|block|blk|tower|unit|flat|apt|apartment|suite|house|hse|plot|villa|floor|door|no)\.?\s*#?[\w/-]{1,8},?\s+)+$"
    r"|(?i:blk|block|hse|house|no\.?|#)\s*$"
)
_ADDRESS_STOP = re.compile(r"[\n|;—]|\.\s|\s[-–]\s[a-z]")


def _extend_address(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole address around a found span: the units, floors, postcodes and towns written after it, the units before it."""
    for _ in range(8):
        m = _TAIL_PIECE.match(text, end)
        if not m or _ADDRESS_STOP.search(text, end, m.start() + len(m.group()) - len(m.group().lstrip()) + 1):
            break
        piece = m.group()
        if m.group("town") is not None:
            low_words = [w for w in m.group("town").split() if w.islower()]
            if low_words and not text.islower():
                break
        elif m.group("post") is not None:
            if not re.search(r"\d", piece):
                break
            if piece.strip(" ,").isdigit() and len(piece.strip(" ,")) > 6:
                break
        elif m.group("paren") is not None and not (re.search(r"\d", piece) or re.fullmatch(r"\(\s*[^\W\d_][\w'’ .-]*\)", m.group("paren"))):
            break
        end = m.end()
    head = _HEAD_PIECE.search(text, max(0, start - 60), start)
    if head and not _ADDRESS_STOP.search(text, head.start(), start):
        start = head.start()
    return start, len(text[:end].rstrip(",. "))


def _find_addresses(text: str) -> Iterator[Finding]:
    """Every address, whole and once: a street pattern's span and a label's span of one address are one value."""
    spans = sorted(_extend_address(text, start, end) for start, end, _, _ in _address_findings(text))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        yield start, end, "address", 0.7


# The end of an address as most countries write it: a postcode and its town, a town and its postcode
# ("8001 Zürich", "100 00 Praha 10", "Islamabad 44000", "Telangana 500028"), or a postcode of a shape
# only postcodes have ("01310-200"). The comma-separated parts before it, back to the one holding the house
# number, are the rest of the address.
_ADDRESS_END = re.compile(
    r"(?:(?P<pt>(?:\d{3}\s\d{2}|\d{4,6}|\d{4}-\d{3}|\d{5}-\d{3}|\d{2}-\d{3}))\s+(?P<town>[^\W\d_][\w'’.-]*(?:\s+(?:am|an|der|de|del|da|do|la|le|sur)\s+[^\W\d_][\w'’.-]*|\s+[^\W\d_][\w'’.-]*)?)(?:\s+\d{1,2}(?!\d))?"
    r"|(?P<town2>[^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*)?)\s+(?P<pt2>\d{4,6})"
    r"|(?P<pt3>\d{5}-\d{3}|\d{4}-\d{3}|\d{2}-\d{3}))(?![\w-])"
)


def _find_listed_addresses(text: str) -> Iterator[Finding]:
    lower_case = not any(ch.isupper() for ch in text)
    for m in _ADDRESS_END.finditer(text):
        line_start = max(text.rfind(ch, 0, m.start()) for ch in ":\n;!?|—") + 1
        head = text[line_start : m.start()]
        if not head.rstrip().endswith(","):
            continue
        pieces = head.rstrip()[:-1].split(",")
        town = m.group("town") or m.group("town2") or ""
        if town and not town[:1].isupper() and not (lower_case and m.group("town2") is None) and not any(
                w.lower() in _ADDRESS_LOWER_WORDS or re.match(_STREET_BEFORE + r"$", w) for p in pieces[-5:] for w in p.split()):
            continue  # "1200 ms, 2400 ms, 4800 ms": numbers and a word, not an address
        start, house = m.start(), False
        for n, piece in enumerate(reversed(pieces)):
            if n >= 5:
                break
            abbreviated = re.sub(r"\b(\w{1,4})\.\s", r"\1 ", piece)  # "St. Mary's", "opp. Ratnadeep"
            whole = len(piece.split()) <= 6 and len(piece) <= 48 and not re.search(r"\.\s", abbreviated)
            tail = _address_words_before(piece, lower_case)
            street = re.search(r"(?<![\w/])(?:" + _STREET_BEFORE + r"|\d{1,5}[a-z]?(?=\s+[^\W\d_]))", piece)
            if whole and tail == len(piece.strip()):
                start = line_start + len(",".join(pieces[: len(pieces) - n - 1])) + (1 if n < len(pieces) - 1 else 0) + (len(piece) - len(piece.lstrip()))
                house = house or bool(re.search(r"\d", piece))
                continue
            # the first part: from its street word or house number, or the address words at its end
            cut = street.start() if street else (len(piece) - tail if tail else None)
            if cut is not None and re.search(r"\d", piece[cut:]):
                start = line_start + len(",".join(pieces[: len(pieces) - n - 1])) + (1 if n < len(pieces) - 1 else 0) + cut
                house = True
            break
        if house and start < m.start():
            yield start, m.end(), "address", 0.6


# An address on a form: "Street: ..., City: ..., ZIP: ...", "PLZ: 70173 | Ort: Stuttgart", "Town: Glasgow\nPostcode: ...".
# Two or more such fields in one text make it a form; each field's value is part of the address.
_FORM_FIELD = re.compile(
    r"(?i:\b(?:street(?:\s+address)?|address(?:\s+line)?(?:\s*\d)?|addr(?:ess)?\s*\d|city|town|state|province|county|region|district|"
    r"zip(?:\s*code)?|post\s*code|postal\s+code|plz|ort|stadt|stra(?:ß|ss)e|hausnummer|hausnr\.?|cp|c[óo]digo\s+postal|calle|ciudad|"
    r"provincia|piso|puerta|n[úu]mero|rue|ville|code\s+postal|citt[àa]|cap|daire|mahalle|sokak|cadde|il[çc]e|kat|bairro|cidade|"
    r"estado|cep|barangay|suburb|locality|unit|apt|flat|house\s+(?:no|number)|building|pin(?:\s*code)?))\s*[:：]\s*"
    r"(?P<value>[^,|;\n]{1,60}?)\s*(?=[,|;\n]|$)"
)


# Fields only an address has: a form with none of them ("Region: eu-west-1, State: healthy") is not an address.
_STREET_FIELD = re.compile(r"(?i)^(?:street|address|addr|stra(?:ß|ss)e|hausn|calle|rue|sokak|cadde|zip|post\s*code|postal|plz|c[óo]digo|code\s+postal|cep)")


def _find_form_addresses(text: str) -> Iterator[Finding]:
    fields = list(_FORM_FIELD.finditer(text))
    if len(fields) < 2 or not any(_STREET_FIELD.match(m.group()) for m in fields):
        return
    for m in fields:
        value = m.group("value").strip()
        if value and not re.match(r"(?i)(?:the|a|an|is|was|why|what|how|n/?a|none|null|-+)\b", value):
            yield m.start("value"), m.start("value") + len(m.group("value").rstrip()), "address", 0.6


def _address_findings(text: str) -> Iterator[Finding]:
    yield from _find_form_addresses(text)
    yield from _find_listed_addresses(text)
    yield from _find_labelled_addresses(text)
    yield from _find_postcode_addresses(text)
    for m in _PO_BOX.finditer(text):
        yield m.start(), m.end(), "address", 0.7
    for pattern in (_ADDRESS_US_ANYCASE, _ADDRESS_JP_LATIN, _JP_POSTMARK, _ADDRESS_UNIT_FIRST_PIN):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "address", 0.7
    for pattern in (_ADDRESS_CJK, _ADDRESS_CYRILLIC):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "address", 0.7
    for pattern in (_ADDRESS_EN, _ADDRESS_EU, _ADDRESS_NUMBER_FIRST, _ADDRESS_PREFIXED, _ADDRESS_SUFFIXED, _ADDRESS_TWO_WORD, _ADDRESS_PREPOSITION):
        for m in pattern.finditer(text):
            value = m.group().rstrip(",. ")
            start = m.start()
            lead = _ADDRESS_LEAD.search(text[max(0, start - 12) : start + 1])
            if lead and pattern is _ADDRESS_EU:
                start = max(0, start - 12) + lead.start()
            end = m.start() + len(value)
            full = _with_tail(text, start, end)
            if pattern is _ADDRESS_PREPOSITION and not _HAS_POSTCODE.search(text, end, full):
                continue
            yield start, text[start:full].rstrip(",. ").__len__() + start, "address", 0.7


# Chinese, Japanese and Korean names are told by the honorific after them: "山田 花子さん", "王先生", "김민준 씨".
_CJK_NAME = re.compile(
    r"(?<![\u4e00-\u9fff\u30a0-\u30ff])([\u4e00-\u9fff]{1,3}[ \u3000]?[\u4e00-\u9fff\u30a0-\u30ff]{0,3})(?=さん|様|さま|氏|君|くん|ちゃん|先生|殿|女士|小姐)"
    r"|(?<![\uac00-\ud7a3])([\uac00-\ud7a3]{2,4})(?=\s?(?:씨|님|고객님|고객|선생님|과장님|부장님|대리님|사장님))"
)


# Letters of the scripts other than Latin: Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, kana, Han, Hangul.
_OTHER_SCRIPT = r"\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7a3"
_OTHER_SCRIPT_RUN = re.compile(
    r"(?<![" + _OTHER_SCRIPT + r"\w\"'“‘«「『])[" + _OTHER_SCRIPT + r"]+(?:[ \u3000][" + _OTHER_SCRIPT + r"]+){0,3}(?![" + _OTHER_SCRIPT + r"\w\"'”’»」』])"
)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _find_other_script_names(text: str) -> Iterator[Finding]:
    """A short run of another script in a text written in Latin letters: a name, as such texts quote them.

    Only where Latin letters are two thirds of the text or more (a question in Chinese or
    Arabic is not scanned: without a model of that language its words cannot
    be told from its names), and not between quotes (a term being asked about).
    """
    others = _OTHER_SCRIPT_RUN.findall(text)
    if not others:
        return
    latin = len(_LATIN_LETTER.findall(text))
    if latin < 2 * sum(len(o.replace(" ", "")) for o in others):
        return
    for m in _OTHER_SCRIPT_RUN.finditer(text):
        if len(m.group()) <= 24:
            yield m.start(), m.end(), "person", 0.6


# A name after the role it plays ("Customer Thabo Nkosi", "applicant Ana Lima"), and a name whose surname has
# a shape only surnames have ("Grace O'Malley-Thompson", "Sean McAllister", "Anna Müller-Lüdenscheidt").
_ROLE_NAME = re.compile(
    r"\b(?i:customer|client|applicant|co-applicant|borrower|co-borrower|guarantor|debtor|tenant|cardholder|account\s+holder|employee|"
    r"requester|caller|signatory|spouse|husband|wife|widow|heir|beneficiary|payee|landlord|kunde|kundin|cliente|klient|antragsteller(?:in)?)"
    r"\s+(" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r"){1,2})"
)
_SURNAME_SHAPE = re.compile(
    r"\b(" + _NAME_WORD + r"[ \t]+(?!(?i:pre|post|non|re|co|self|multi|cross|anti|sub|inter|over|under|out|semi|real|long|short|high|low|well|"
    r"third|first|second|open|read|write|end|full|half|part|auto|on|off|opt|follow|check|sign|log|set|go|roll|time|point|peer)-)(?:(?:O['’]|Mc|Mac(?=[A-Z])|Fitz)[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ'’]+)?|[A-ZÀ-Þ][a-zà-ÿ]+-[A-ZÀ-Þ][a-zà-ÿ]+))\b"
)
# A name with the honorific that follows it in South Asian, Japanese, Turkish and plain English speech:
# "Rahul bhai", "Deshpande sir", "Sharma ji", "Tanaka san", "Ahmet Bey".
_HONORIFIC_AFTER = re.compile(
    r"\b(" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r")?)\s+(?:bhai|bhaiya|ji|jee|sahab|saab|sahib|sir|madam|ma['’]am|didi|bhabhi|anna|akka|"
    r"san|sama|kun|chan|sensei|bey|hanım|hanim|efendi|abla|ağabey)\b(?!-)"
)
# Words said before "sir" or "ji" that are not names ("Thank you sir", "Yes ji").
_NOT_NAME_BEFORE_HONORIFIC = frozenset("thanks thank hello hi hey dear yes no ok okay sorry please good morning evening night welcome right sure".split())
# A name written in lower case after a title: "ms priyanka raghunathan asked ...".
# ("ms" and "miss" are left to the gazetteer: "ms latency" is milliseconds, "miss two payments" a verb.)
_LOWER_TITLE_NAME = re.compile(r"\b(?:mr|mrs|mx)\.?\s+([a-zà-ÿ][a-zà-ÿ'’-]+(?:\s+[a-zà-ÿ][a-zà-ÿ'’-]+)?)")
# A label, then a name, in texts written in another script: "요청자: 김민준", "申请人：王小明", "המבקש יוסי כהן", "Клиент: Иван Петров".
_LABELLED_NAME = re.compile(
    r"(?:이름|성명|고객명?|신청인|신청자|요청자|차주|채무자|보증인|담당자)\s*[:：]?\s*(?!주소|번호|정보|계좌|전화)([\uac00-\ud7a3]{2,4})(?![\uac00-\ud7a3])"
    r"|(?:姓名|客户|客戶|申请人|申請人|借款人|联系人|聯繫人|担保人|氏名|お名前|申込者|顧客|債務者)\s*[:：是为は]?\s*([\u4e00-\u9fff]{2,4})(?![\u4e00-\u9fff])"
    r"|(?:המבקש|המבקשת|הלקוח|הלקוחה|הלווה|שם)\s*:?\s*([\u05d0-\u05ea]{2,}(?:\s[\u05d0-\u05ea]{2,})?)"
    r"|(?:العميل|العميلة|عميلنا|عميلتنا|الزبون|السيد|السيدة|الاسم|مقدم\s+الطلب|المقترض)\s*:?\s*([\u0621-\u064a]{2,}(?:\s[\u0621-\u064a]{2,}){0,3})"
    r"|(?i:клиент|клиентка|заемщик|заёмщик|фио|имя|заявитель)\s*:?\s*([А-ЯЁ][а-яё]+(?:\s[А-ЯЁ][а-яё]+){1,2})"
)


# A Chinese name run into the sentence after the role word ("申请人王晓丽的收入", "客户张伟已经还款"): a common
# family name, then one or two characters; a character that usually follows a name ends it early.
_ZH_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
                "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁"
                "岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_ZH_AFTER_NAME = "的在已是要想说和与于把被对给从向等还也都曾将会能先女申提请欠逾名"
_ZH_LABELLED_NAME = re.compile(
    r"(?:姓名|客户|客戶|申请人|申請人|借款人|贷款人|联系人|聯繫人|担保人|擔保人|保证人|持卡人|户主|戶主|法人|员工|職員|职员|经理|經理)\s*[:：是为]?\s*"
    r"([" + _ZH_SURNAMES + r"][\u4e00-\u9fff](?:(?![" + _ZH_AFTER_NAME + r"])[\u4e00-\u9fff])?)"
)
# A Hindi name written in Devanagari: a title before it ("श्री राजेश कुमार"), or a common family name ending
# it ("प्रिया शर्मा ने ...").
_HI_SURNAMES = ("शर्मा|वर्मा|गुप्ता|सिंह|पटेल|कुमार|कुमारी|यादव|जैन|अग्रवाल|मिश्रा|मिश्र|तिवारी|पांडे|पाण्डेय|पांडेय|चौहान|राठौर|मेहता|शाह|रेड्डी|नायर|"
                "अय्यर|राव|दास|चौधरी|ठाकुर|जोशी|कपूर|खन्ना|मल्होत्रा|बंसल|सक्सेना|श्रीवास्तव|त्रिपाठी|दुबे|शुक्ला|भट्ट|देसाई|कुलकर्णी|पाटिल|जाधव|"
                "खान|अहमद|अली|हुसैन|बनर्जी|चटर्जी|मुखर्जी|घोष|बोस|सेन|दत्ता|नाइक|पिल्लई|मेनन|गोयल|मित्तल|सिन्हा|प्रसाद|भारद्वाज|ओझा|रस्तोगी|गिल|संधू|सेठी")
_HI_NAME = re.compile(
    r"(?:श्री|श्रीमती|सुश्री|कुमारी|डॉ\.?|डा\.)\s+([\u0900-\u097f]+(?:\s[\u0900-\u097f]+)?)(?=[\s,।]|$)"
    r"|(?<![\u0900-\u097f])([\u0900-\u097f]{2,}\s(?:[\u0900-\u097f]+\s)?(?:" + _HI_SURNAMES + r"))(?![\u0900-\u097f])"
)
# A nickname in quotes before a family name: "'Chip' Matthews", "Robert \"Bob\" Smith" is left to the gazetteer.
_QUOTED_NICKNAME = re.compile(r"([\"'“‘][A-ZÀ-Þ][a-zà-ÿ]+[\"'”’]\s+)(" + _NAME_WORD + r")(?!\w)")


def _trimmed_name(value: str, min_words: int, stop: frozenset[str] = frozenset()) -> str | None:
    """``value`` without the non-name words at its end (``_NOT_NAMES``, and ``stop`` lower-cased);
    None when fewer than ``min_words`` remain or it starts with one."""
    words = value.split()

    def off(word: str) -> bool:
        return word in _NOT_NAMES or word.lower() in stop

    while words and off(words[-1]):
        words.pop()
    return " ".join(words) if len(words) >= min_words and not off(words[0]) else None


# A record that opens with a name, then its data: "Lindiwe Dlamini, ID 9105140281088, passport ...".
_RECORD_NAME = re.compile(
    r"(?:^|[\n;]\s*|:\s+)(" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r"){1,2}),\s*(?i:id|dob|d\.o\.b\.?|ssn|nric|nin|passport|born|age\s+\d|"
    r"tel|phone|mobile|email|e-mail|address|acct|account|iban|national\s+id|date\s+of\s+birth)\b"
)


# In Cyrillic and Greek, which capitalise names and not nouns, two or three capitalised words inside a
# sentence are a name: "Прошу проверить заявку Ивана Петрова", "Ο πελάτης Γιώργος Παπαδόπουλος".
_CASED_SCRIPT_NAME = re.compile(
    r"(?<=[\u0400-\u04ff\u0370-\u03ff,;:]\s)([А-ЯЁΑ-ΩΆ-Ώ][а-яёα-ωά-ώ]+(?:-[А-ЯЁΑ-ΩΆ-Ώ][а-яёα-ωά-ώ]+)?(?:\s[А-ЯЁΑ-ΩΆ-Ώ][а-яёα-ωά-ώ]+(?:-[А-ЯЁΑ-ΩΆ-Ώ][а-яёα-ωά-ώ]+)?){1,2})"
    r"(?![\u0400-\u04ff\u0370-\u03ff])"
)


# A capitalised word right before on the same line: the role word is part of a title-case heading.
_TITLE_CASE_BEFORE = re.compile(r"[A-ZÀ-Þ][\w'’-]*[:]?[ \t]+$")


def _find_names(text: str) -> Iterator[Finding]:
    for m in _CASED_SCRIPT_NAME.finditer(text):
        yield m.start(1), m.end(1), "person", 0.6
    for m in _RECORD_NAME.finditer(text):
        value = _trimmed_name(m.group(1), 2, _AFTER_NAME_STOP)
        if value:
            yield m.start(1), m.start(1) + len(value), "person", 0.6
    yield from _find_other_script_names(text)
    for m in _LABELLED_NAME.finditer(text):
        g = next(i for i in range(1, 6) if m.group(i))
        yield m.start(g), m.end(g), "person", 0.7
    for m in _CJK_NAME.finditer(text):
        g = 1 if m.group(1) else 2
        yield m.start(g), m.end(g), "person", 0.7
    for m in _ZH_LABELLED_NAME.finditer(text):
        yield m.start(1), m.end(1), "person", 0.7
    for m in _HI_NAME.finditer(text):
        g = 1 if m.group(1) else 2
        yield m.start(g), m.end(g), "person", 0.7
    for m in _HONORIFIC_AFTER.finditer(text):
        value = _trimmed_name(m.group(1), 1, _AFTER_NAME_STOP)
        if value and value.split()[0].lower() not in _NOT_NAME_BEFORE_HONORIFIC:
            yield m.start(1), m.start(1) + len(value), "person", 0.6
    for m in _LOWER_TITLE_NAME.finditer(text):
        words = m.group(1).split()
        while words and words[-1] in _EN_FUNCTION:
            words.pop()
        if words and words[0] not in _EN_FUNCTION:
            yield m.start(1), m.start(1) + len(" ".join(words)), "person", 0.6
    for patterns, min_words, stop, score in (((_ROLE_NAME, _SURNAME_SHAPE), 2, _AFTER_NAME_STOP, 0.6),
                                             ((_PERSON_CONTEXT, _TITLE_NAME), 1, frozenset(), 0.7)):
        for pattern in patterns:
            for m in pattern.finditer(text):
                if pattern is _ROLE_NAME and m.group()[:1].isupper() and _TITLE_CASE_BEFORE.search(text, max(0, m.start() - 40), m.start()):
                    continue  # a heading in title case: "Glossary: Applicant Profile Features"
                if pattern is _SURNAME_SHAPE and "-" in m.group(1) and not re.search(r"O['’]|Mc|Mac|Fitz", m.group(1)) and not looks_english(text):
                    continue  # German and Dutch join capitalised nouns with hyphens: "Welche Spark-Konfiguration"
                value = _trimmed_name(m.group(1), min_words, stop)
                if value:
                    yield m.start(1), m.start(1) + len(value), "person", score


# --- names from a gazetteer of given names ---------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Family names written first (East Asian order): "Nguyen Thi Lan", "Wang Fang", "Kim Min-jun".
_SURNAME_FIRST = frozenset(
    "nguyen tran pham hoang huynh phan vu vo dang bui ngo duong ly wang li zhang liu chen yang huang zhao wu zhou "
    "xu zhu hu guo lin luo gao zheng liang xie tang feng deng cao kim lee park choi jung kang cho yoon "
    "jang lim shin kwon hwang ahn seo".split()  # not "Do", "Le", "He", "Ma", "Oh", "Song", "Sun": English or French words
)
# Particles inside a name: "Youssef El Amrani", "Ludwig van Beethoven", "Maria da Silva".
_PARTICLES = frozenset("al el bin ibn bint ben abu van von der den de da di du del della dos das le la thi ter ten mac ní nic ó ua ap bat zu zum zur y".split())


def fold(word: str) -> str:
    """A word lower-cased with its accents and special letters folded: "Małgorzata" -> "malgorzata", "Nguyễn" -> "nguyen"."""
    low = word.lower().translate(_FOLD_LETTERS)
    return "".join(ch for ch in unicodedata.normalize("NFKD", low) if not unicodedata.combining(ch))


# Letters that NFKD does not split into a base letter and a mark.
_FOLD_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"})
# Capitalised words that follow a given name without being part of a name.
_AFTER_NAME_STOP = frozenset(
    "street st road rd avenue ave lane drive bank group ltd inc llc gmbh plc university college school hospital station airport "
    "mode policy rule rules chapter score model team fund card loan account support service services desk centre center office "
    "january february march april may june july august september october november december monday tuesday wednesday thursday "
    "friday saturday sunday the and or of for to in on at by with from back tools tool hat api apis interface posts onboarding "
    "day days guide notes note wharf park square bridge hill hills gardens garden heights tower towers plaza market valley beach "
    "island harbour harbor port bay lake river quay dock docks estate village manor court hall house campus".split()
)
_ROLE_BEFORE = re.compile(
    r"\b(?:customer|client|applicant|co-applicant|borrower|guarantor|debtor|tenant|member|cardholder|account\s+holder|"
    r"klient|klientka|kunde|kundin|cliente|aanvrager|named|called|mr|mrs|ms|miss)\.?\s+$",
    re.IGNORECASE,
)
# In a text written all in lower case, the words that announce a name with no role word.
_LOWER_NAME_CUE = re.compile(r"\b(?:for|from|to|with|about|cc|by|named|called|mr|mrs|ms|dr)\.?\s+$")
_EN_FUNCTION = frozenset(
    "the a an and or of to in on for is are was were be been do does did i you he she it we they my your his her our their "
    "this that what which how when why who can could would should will may might must has have had not no yes if so as at by "
    "with from about asked asks says said wants wanted called calls paid pays sent sends needs per day week month year".split()
)


# Firms named in the possessive after a given name: "Moody's rating scale", "Lloyd's of London".
_FIRM_POSSESSIVES = frozenset("moody lloyd sainsbury macy mcdonald kellogg wendy denny dillard harrod sotheby christie lowe kohl".split())
# Given names that are also English words ("Hope", "Grace", "Summer", "Mark"): left out of the gazetteer, they
# start a name only before a known family name ("Hope Adeyemi", "grace kim").
_WORD_GIVEN_NAMES = frozenset(
    "hope grace faith joy rose mark bill will may june april summer dawn iris ivy lily daisy pearl ruby amber crystal "
    "heather holly jade sky skye autumn hunter chase drew grant dean miles rich rob art sue pat ray gene guy jack jay max "
    "sunny earl hazel olive violet penny patience mercy charity august reed cliff frank sandy".split()
)
# What announces one given name standing alone: "Talked to Sanjay, the borrower's brother", "attention Raj",
# "the customer, Thandiwe, said", "her husband Marco", "e suo marito Marco".
_SINGLE_NAME_BEFORE = re.compile(
    r"(?i)\b(?:attention|attn\.?|c/o|(?:spoke|talked|speaking|met|meeting|chatted)\s+(?:to|with)|called|emailed|phoned|texted|"
    r"son|daughter|wife|husband|brother|sister|mother|father|mum|mom|dad|widow|widower|partner|fiancée?|"
    r"marito|moglie|figlio|figlia|fratello|sorella|mari|femme|fils|fille|frère|soeur|sœur|esposo|esposa|marido|mujer|hijo|hija|"
    r"hermano|hermana|filho|filha|irmão|irmã|ehemann|ehefrau|mann|frau|sohn|tochter|bruder|schwester|"
    r"the\s+(?:customer|client|borrower|applicant|guarantor|caller|widow|widower|tenant|account\s+holder|cardholder|executor),|"
    r"analyst|agent|officer|manager|colleague|underwriter|adviser|advisor|banker|teller|clerk|collector|caseworker|intern|engineer|"
    r"goes\s+by|known\s+(?:\w+\s+){0,3}?as|aka|a\.k\.a\.|nicknamed|called\s+herself|called\s+himself|"
    r"(?:reroute|forward|send|assign|escalate|pass|hand)\s+(?:\w+\s+){0,3}?to),?\s+$"
)
# What follows a single given name that makes it one: a possessive ("Emeka's mother") or a Hindi/Urdu
# postposition in code-mixed text ("Rahul ne bola", "Priya ka loan").
_SINGLE_NAME_AFTER = re.compile(
    r"(?:['’]s\b|\s+(?:ne|ka|ki|ke|ko|se|ji|wala|wali)\s|"
    r"\s+from\s+(?:the\s+)?(?:collections|risk|credit|ops|operations|it|hr|legal|compliance|finance|the\s+branch|branch|underwriting|support|"
    r"sales|treasury|audit|fraud|mlops|data)\b|"
    r"\s+from\s+(?:the\s+|our\s+)?[A-ZÀ-Þ][\w'’-]+\s+(?:branch|office|team|desk|store)\b|"
    r"\s+\((?:the|a|an|his|her|their|our|my)\s|"
    r"\s+(?:says|said|asked|wrote|called|mentioned|confirmed|told\s+me|thinks|reported|noticed|is\s+on\s+leave|is\s+out|is\s+away)\b)"
)
# Word-given names that stay words even when announced: months, a bank, the sky.
_WORD_NAMES_NEVER_ALONE = frozenset("may june april august chase sky art rich will bill guy".split())
_APPOSITION_AFTER = re.compile(r",\s+(?:the|a|an|his|her|their|our|my|who|whose)\b")
# Shapes only family names have: "o'brien", "al-farsi", "wiśniewski" (letters outside ASCII), "-ska".
_SURNAME_SHAPE_LOWER = re.compile(r"(?:o['’]|mc|al-|el-|bin-|ibn-|abu-|d['’])[a-zà-ÿ]+|.*[^\x00-\x7f].*|[a-z]+(?:ski|ska|wicz|czyk|enko|escu|oglu|poulos|idis|ishvili|yan)")


def gazetteer_name_finder(given_names: frozenset[str], surnames: frozenset[str] = frozenset()) -> Callable[[str], Iterator[Finding]]:
    """A finder for person names built on sets of lower-case given names and family names (see the module notes)."""

    def given(low: str) -> bool:
        return (low in given_names or ("-" in low and all(p in given_names for p in low.split("-")))
                or (not low.isascii() and fold(low) in given_names))

    def family(low: str) -> bool:
        return low in surnames or low in _SURNAME_FIRST or (not low.isascii() and fold(low) in surnames)

    def starts_name(word: str) -> bool:
        low = word.lower()
        if not word[:1].isupper() or word.isupper() or word in _NOT_NAMES:
            return False
        return given(low) or low in _SURNAME_FIRST or (not low.isascii() and fold(low) in _SURNAME_FIRST)

    def name_word(word: str) -> bool:
        if re.fullmatch(r"(?:al|el|bin|ibn|abu|ben|d|o)[-'’][A-ZÀ-Þ].*", word):
            return True  # "al-Rashidi", "d'Souza"
        return word[:1].isupper() and not (word.isupper() and len(word) > 1) and word.lower() not in _AFTER_NAME_STOP and word not in _NOT_NAMES

    def announced(text: str, w: re.Match[str]) -> bool:
        """A single name made one by what stands around it: a role or a job before it, an apposition, a possessive, a verb."""
        return bool(_SINGLE_NAME_BEFORE.search(text[max(0, w.start() - 40) : w.start()])
                    or (_APPOSITION_AFTER.match(text, w.end()) and re.search(r",\s*$", text[max(0, w.start() - 3) : w.start()]))
                    or _SINGLE_NAME_AFTER.match(text, w.end()))

    def lower_family(word: str) -> bool:
        word = re.sub(r"['’]s$", "", word)  # "siobhan o'sullivan's limit"
        return word.islower() and word not in _EN_FUNCTION and (family(word) or bool(_SURNAME_SHAPE_LOWER.fullmatch(word)))

    def find(text: str) -> Iterator[Finding]:
        words = list(_WORD.finditer(text))
        lower_case_text = not any(ch.isupper() for ch in text)

        def spaced(k: int) -> bool:  # words k-1 and k are one space apart
            return 0 < k < len(words) and text[words[k - 1].end() : words[k].start()] == " "

        i = 0
        while i < len(words):
            w = words[i]
            word, low = w.group(), w.group().lower()
            if word.isupper() and len(word) >= 3 and low in given_names and i + 1 < len(words):
                # A form in capitals: "KEVIN TRAN".
                nxt = words[i + 1]
                if (text[w.end() : nxt.start()] == " " and nxt.group().isupper() and nxt.group().isalpha() and len(nxt.group()) >= 2
                        and nxt.group().lower() not in _AFTER_NAME_STOP):
                    yield w.start(), nxt.end(), "person", 0.6
                    i += 2
                    continue
            if re.fullmatch(r"[A-Z]", word) and text[w.end() : w.end() + 1] == ".":
                # Initials, then a family name: "J. R. Okafor", "D. O'Connell-Ní Bhriain".
                k = i
                while k < len(words) and re.fullmatch(r"[A-Z]", words[k].group()) and text[words[k].end() : words[k].end() + 1] == ".":
                    k += 1
                if k < len(words) and k - i <= 3 and name_word(words[k].group()) and (
                        family(words[k].group().lower()) or re.search(r"['’-]", words[k].group())):
                    end, k = words[k].end(), k + 1
                    while spaced(k) and k - i <= 6:
                        j = k
                        while j < len(words) and words[j].group().lower() in _PARTICLES and spaced(j) and j - k < 3:
                            j += 1  # "M. Jean-Baptiste de La Fontaine"
                        if j < len(words) and spaced(j) and name_word(words[j].group()):
                            end, k = words[j].end(), j + 1
                        else:
                            break
                    yield w.start(), end, "person", 0.6
                    i = k
                    continue
            if re.search(r"['’]s$", word) and word[:1].isupper() and given(low[:-2]) and not word.isupper() and low[:-2] not in _FIRM_POSSESSIVES:
                yield w.start(), w.end() - 2, "person", 0.6  # "Emeka's mother", "Kofi's wife"
                i += 1
                continue
            if word[:1].isupper() and low in _WORD_GIVEN_NAMES and spaced(i + 1) and name_word(words[i + 1].group()) and family(
                    re.sub(r"['’]s$", "", words[i + 1].group().lower())):
                yield w.start(), words[i + 1].end(), "person", 0.6  # "Hope Adeyemi", "Summer Delgado", "Hope Sterling's"
                i += 2
                continue
            if (word[:1].isupper() and not word.isupper() and low in _WORD_GIVEN_NAMES and low not in _WORD_NAMES_NEVER_ALONE
                    and not (spaced(i + 1) and name_word(words[i + 1].group())) and announced(text, w)):
                yield w.start(), w.end(), "person", 0.6  # "The teller, Mercy, noticed", "Grace from the Leeds branch said"
                i += 1
                continue
            nick = _QUOTED_NICKNAME.match(text, w.start() - 1) if w.start() and text[w.start() - 1] in "\"'“‘" else None
            if nick and (
                    family(nick.group(2).lower()) or _SINGLE_NAME_BEFORE.search(text[max(0, nick.start(1) - 40) : nick.start(1)])):
                yield nick.start(1), nick.end(2), "person", 0.6  # "'Chip' Matthews"
                i += 2
                continue
            if starts_name(word):
                end, parts, k = w.end(), 1, i + 1
                while k < len(words) and parts < 4 and spaced(k):
                    nxt = words[k].group()
                    if nxt.lower() in _PARTICLES:
                        # "Ludwig van der Berg", "Maria de la Cruz": particles, then a name word
                        j = k
                        while j < len(words) and words[j].group().lower() in _PARTICLES and spaced(j):
                            j += 1
                        if j < len(words) and j - k <= 3 and spaced(j) and name_word(words[j].group()):
                            k = j
                            continue
                        break
                    if not name_word(nxt):
                        break
                    end, parts, k = words[k].end(), parts + 1, k + 1
                if parts >= 2:
                    yield w.start(), end, "person", 0.6
                    i = k
                    continue
                if given(low) and announced(text, w):
                    # one given name, announced: "Talked to Sanjay, the ...", "Emeka's mother", "Rahul ne bola"
                    yield w.start(), w.end(), "person", 0.6
            elif word.islower() and (given(low) or low in _WORD_GIVEN_NAMES or low in _SURNAME_FIRST):
                # Names typed in lower case: "customer rosa delgado asked", "grace kim and mark o'brien are",
                # "ravi and sunita patel want", "mohammed al-farsi from ...", "their son arjun".
                cue_word = bool(_LOWER_NAME_CUE.search(text[max(0, w.start() - 12) : w.start()]))
                cue = bool(_ROLE_BEFORE.search(text[max(0, w.start() - 20) : w.start()]) or (lower_case_text and cue_word))
                at_start = not text[: w.start()].strip() or bool(re.search(r"(?:[.!?:;,]|\band)\s+$", text[: w.start()]))
                nxt = words[i + 1].group() if spaced(i + 1) else ""
                if nxt and nxt.islower() and nxt not in _EN_FUNCTION and (
                        (given(low) or low in _SURNAME_FIRST) and (cue and (given(nxt) or nxt in _SURNAME_FIRST or not re.search(r"(?:ed|ing|s)$", nxt)))
                        or ((lower_case_text or at_start or cue or cue_word) and lower_family(nxt))
                        or (given(low) and len(low) >= 4 and family(re.sub(r"['’]s$", "", nxt)))):
                    yield w.start(), words[i + 1].end(), "person", 0.6
                    i += 2
                    continue
                if given(low) and nxt == "and" and spaced(i + 2) and given(words[i + 2].group()) and (lower_case_text or at_start):
                    yield w.start(), w.end(), "person", 0.6  # "ravi and sunita patel": ravi is a name too
                    i += 2
                    continue
                if given(low) and _SINGLE_NAME_BEFORE.search(text[max(0, w.start() - 40) : w.start()]):
                    yield w.start(), w.end(), "person", 0.6  # "their son arjun"
            i += 1

    return find


PATTERN_FINDERS: tuple[Callable[[str], Iterable[Finding]], ...] = (
    _find_emails,
    _find_ibans,
    _find_cards,
    _find_bank_accounts,
    _find_national_ids,
    _find_passports,
    _find_dates_of_birth,
    _find_addresses,
    _find_names,
)


def find_pattern_pii(text: str) -> list[Finding]:
    """Every finding of the pattern recognizers, before overlaps are resolved (no Presidio needed)."""
    return [f for finder in PATTERN_FINDERS for f in finder(text)]


# --- resolving and replacing ---------------------------------------------------------


def resolve(findings: Iterable[Finding], text: str | None = None) -> list[Finding]:
    """Non-overlapping findings: the higher-priority kind, then the earlier and longer span wins.

    An address that overlaps a stronger finding keeps its longest part outside
    it when that part still holds a digit ("SSN 123-45-6789, 5503 Greenway
    Blvd ..." keeps the street); anything else that overlaps is dropped.
    """
    taken: list[Finding] = []
    for f in sorted(findings, key=lambda f: (_PRIORITY[f[2]], f[0], -(f[1] - f[0]))):
        if f[1] <= f[0]:
            continue
        clashes = [t for t in taken if f[0] < t[1] and t[0] < f[1]]
        if clashes and f[2] == "address":
            cuts = sorted([(f[0], f[0]), *((max(t[0], f[0]), min(t[1], f[1])) for t in clashes), (f[1], f[1])])
            gaps = [(a[1], b[0]) for a, b in zip(cuts, cuts[1:]) if b[0] - a[1] > 0]
            start, end = max(gaps, key=lambda g: g[1] - g[0], default=(0, 0))
            if text is not None:  # the part left, without the separators around it, and only with a number in it
                part = text[start:end]
                start, end = start + len(part) - len(part.lstrip(" ,;:-")), end - (len(part) - len(part.rstrip(" ,;:-")))
                if not re.search(r"\d", text[start:end]):
                    continue
            f = (start, end, f[2], f[3])
            if end <= start or any(f[0] < t[1] and t[0] < f[1] for t in taken):
                continue
        elif clashes and f[2] == "person" and all(t[2] == "person" for t in clashes):
            # two finders saw one name ("Monsieur Jean-Baptiste" and "Jean-Baptiste Lefèvre"): one value, the union
            for t in clashes:
                taken.remove(t)
            f = (min(f[0], *(t[0] for t in clashes)), max(f[1], *(t[1] for t in clashes)), "person", f[3])
        elif clashes:
            continue
        taken.append(f)
    return sorted(taken)


@lru_cache(maxsize=1)
def _anonymizer() -> Any:
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()


def apply_redactions(text: str, findings: Sequence[Finding]) -> Redaction:
    """Replace resolved (non-overlapping) findings by their placeholders with Presidio's anonymizer."""
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    found: dict[str, int] = {}
    for _, _, kind, _ in findings:
        found[kind] = found.get(kind, 0) + 1
    if not findings:
        return Redaction(text=text, found={})
    kind_entity = {kind: entity for entity, kind in ENTITY_KINDS.items()}
    results = [RecognizerResult(kind_entity[kind], start, end, score) for start, end, kind, score in findings]
    operators = {kind_entity[k]: OperatorConfig("replace", {"new_value": PLACEHOLDERS[k]}) for k in found}
    # No merging: two names side by side are two values, and counts must match the findings.
    out = _anonymizer().anonymize(text=text, analyzer_results=results, operators=operators, merge_entities_with_spaces=False)
    return Redaction(text=out.text, found=found)


# --- Presidio ----------------------------------------------------------------------------


def presidio_recognizers(phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS, *, given_names: frozenset[str] = frozenset(),
                         surnames: frozenset[str] = frozenset()) -> list[Any]:
    """The recognizers an analyzer needs: ours wrapped for Presidio, plus Presidio's phone recognizer.

    Presidio's phone recognizer parses with ``phonenumbers`` and validates
    against the numbering plans, so "+49 30 901820" is found and "+000000120"
    (a format example) is not. Its card and MAC recognizers are left out: they
    miss dotted cards or take them for MAC addresses.
    """
    from presidio_analyzer import EntityRecognizer, RecognizerResult
    from presidio_analyzer.predefined_recognizers import IpRecognizer, PhoneRecognizer

    kind_entity = {kind: entity for entity, kind in ENTITY_KINDS.items()}

    class PatternFinder(EntityRecognizer):
        """Runs one of this module's pattern finders inside Presidio."""

        def __init__(self, finder: Callable[[str], Iterable[Finding]], entities: list[str], name: str | None = None) -> None:
            self._finder = finder
            super().__init__(supported_entities=entities, name=name or f"tandem{finder.__name__}", supported_language="en")

        def load(self) -> None:  # nothing to load: a regex and a checksum
            pass

        def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102 (Presidio's signature)
            return [
                RecognizerResult(kind_entity[kind], start, end, score)
                for start, end, kind, score in self._finder(text)
                if kind_entity[kind] in entities
            ]

    entities_of = {
        _find_emails: ["EMAIL_ADDRESS"], _find_ibans: ["IBAN_CODE"], _find_cards: ["CREDIT_CARD"], _find_bank_accounts: ["BANK_ACCOUNT"],
        _find_national_ids: ["NATIONAL_ID"], _find_passports: ["PASSPORT"], _find_dates_of_birth: ["DATE_OF_BIRTH"],
        _find_addresses: ["ADDRESS"], _find_names: ["PERSON"],
    }  # fmt: skip
    out: list[Any] = [PatternFinder(f, entities_of[f]) for f in PATTERN_FINDERS]
    out.append(PhoneRecognizer(supported_regions=tuple(phone_regions), supported_language="en"))
    # IPv4 and IPv6 addresses (validated by Python's ipaddress): a customer's address is personal data.
    out.append(IpRecognizer(supported_language="en"))
    out.append(PatternFinder(_find_legacy_phones, ["PHONE_NUMBER"]))
    if given_names:
        out.append(PatternFinder(gazetteer_name_finder(given_names, surnames), ["PERSON"], name="tandem_find_gazetteer_names"))
    return out


# National shapes Presidio's phone recognizer rejects for the fictional ranges
# used in documentation (555-01xx, Ofcom drama numbers) but people still write.
_PHONE_NANP = re.compile(r"(?<![\w+.-])(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.-]\d)")
_PHONE_TRUNK = re.compile(
    r"(?<![\w+.-])(?:(?:\(0\d{1,4}\)|0\d{1,4})[ .-]?\d{3,4}[ .-]?\d{3,4}|0\d(?:[ .-]\d{2}){4})(?![\w]|[.-]\d)"
)
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6}(?!\d|[.-]\d)")


# A national number of any country right after a phone word: "Handy 0151 2345 6789",
# "móvil 612 345 678", "call him back on 98204 71356".
_PHONE_CONTEXT = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell(?:phone)?|whatsapp|sms|fax|call\s+(?:\w+\s+){0,2}?(?:on|at)|ring\s+(?:\w+\s+){0,2}?(?:on|at)|"
    r"reach(?:ed)?\s+(?:\w+\s+){0,2}?(?:on|at)|telefon|handy|téléphone|portable|móvil|movil|teléfono|telefono|celular|telefone|"
    r"cellulare|komórka|numer\s+telefonu|телефон|puhelin|matkapuhelin|mobil|gsm|電話|电话|手机|전화|"
    # a call-back said in words: "Rückruf bitte unter", "joignable au", "llamar al", "ligar para", "bellen op"
    r"(?:rückruf|anruf|erreichbar|zurückrufen|anrufen)(?:\s+\w+){0,3}?\s+unter|(?:joignable|rappeler|appeler|contacter)(?:\s+\w+){0,2}?\s+au|"
    r"llam(?:ar|e|en)(?:le|la)?\s+al|ligar\s+(?:para|no)|chiamare\s+al|bellen\s+(?:op|naar)|zadzwo[nń](?:i[cć])?\s+pod)\b\.?(?:\s+(?!\d)\w+){0,2}?\s*(?:no\.?|nr\.?|number|:|-)?\s*$",
    re.IGNORECASE,
)
_PHONE_CONTEXT_CJK = re.compile(
    r"(?:電話|电话|手机|手機|携帯|ケータイ|联系方式|連絡先|전화|휴대폰|핸드폰|연락처)(?:番号|号码|號碼|号|번호)?\s*(?:[是为為:：はが은는이]|번호는)?\s*$"
)
_PHONE_NATIONAL = re.compile(r"(?<![\w+.,/-])\(?\d{2,5}\)?(?:[ .\-/]\d{2,8}){1,4}(?![\w]|[.,/-]\d)")


def _find_legacy_phones(text: str) -> Iterator[Finding]:
    for m in _PHONE_NATIONAL.finditer(text):
        if 9 <= len(_digits(m.group())) <= 13 and (
            _context_before(text, m.start(), _PHONE_CONTEXT, window=35) or _context_before(text, m.start(), _PHONE_CONTEXT_CJK, window=12)
        ):
            yield m.start(), m.end(), "phone", 0.6
    for m in _PHONE_INTL.finditer(text):
        # Country codes never start with 0, and E.164 allows 7-15 digits.
        if 8 <= len(_digits(m.group())) - (2 if m.group().startswith("00") else 0) <= 15:
            yield m.start(), m.end(), "phone", 0.6
    for m in _PHONE_NANP.finditer(text):
        yield m.start(), m.end(), "phone", 0.6
    for m in _PHONE_TRUNK.finditer(text):
        if 10 <= len(_digits(m.group())) <= 11 and not m.group().isdigit():
            yield m.start(), m.end(), "phone", 0.6


def build_analyzer(nlp_engine: Any = None, *, phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
                   given_names: Iterable[str] = (), surnames: Iterable[str] = ()) -> Any:
    """A Presidio ``AnalyzerEngine`` with this module's recognizers.

    Args:
        nlp_engine: A loaded Presidio NLP engine (spaCy) to add person names from
            its NER; ``None`` builds the pattern-only engine (no model needed).
        phone_regions: Regions whose national phone formats are recognised.
        given_names: Lower-case given names for the gazetteer name finder; empty leaves it out.
        surnames: Lower-case family names the finder uses beside other cues (never alone).

    Returns:
        The analyzer; build it once per process and pass it to ``redact_pii``.
    """
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in presidio_recognizers(phone_regions, given_names=frozenset(given_names), surnames=frozenset(surnames)):
        registry.add_recognizer(recognizer)
    if nlp_engine is None:
        nlp_engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    else:
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        # Only PERSON from NER: its dates, places and organisations are not PII
        # on their own and would blank out ordinary policy text.
        registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON"], supported_language="en"))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


@lru_cache(maxsize=1)
def default_analyzer() -> Any:
    """The pattern-only analyzer, built once per process on first use."""
    return build_analyzer()


# Function words of the languages applicants write in besides English. spaCy's English
# NER reads capitalised German nouns and sentence-initial words as names.
_EN_WORDS = frozenset("the a an and or of to in on for is are was were do does did i you my your we our it this that what which how when why who can with".split())
_FOREIGN_WORDS = frozenset(
    "der die das und ist sind ein eine nicht mit für bei von zu wie was welche welcher wann warum ich sie wir auch "
    "le la les et est sont une des du pour avec dans sur qui que quel quelle comment pourquoi je nous vous "
    "el los las y es son un una del para con en por qué cuál cómo cuando yo "
    "il lo gli e è sono di per che come quando io "
    "o os as é são um uma do da para com em que como "
    "het een en is zijn van voor met op wat hoe wanneer ik".split()
)


def looks_english(text: str) -> bool:
    """Whether a text reads as English rather than another European language (by function words)."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    english = sum(w in _EN_WORDS for w in words)
    foreign = sum(w in _FOREIGN_WORDS and w not in _EN_WORDS for w in words)
    return foreign <= english


# Towns that stand for nowhere: templates and fixtures use them ("123 Main Street, Anytown"). Placeholder
# names ("John Doe") are still redacted: people really bear them, and a redacted placeholder costs nothing.
# Two capitalised words that name a method, a firm or an index, not a person ("Monte Carlo", "Dow Jones").
_NOT_PEOPLE = frozenset(
    "monte carlo|dow jones|morgan stanley|goldman sachs|wells fargo|charles schwab|jp morgan|j.p. morgan|lehman brothers|fannie mae|"
    "freddie mac|black scholes|kaplan meier|nelson siegel|markov chain|ernst young|price waterhouse|deutsche bank|credit suisse|"
    "standard chartered|lloyds bank|barclays bank|santander bank|hang seng|nikkei dow|pareto front|gauss markov|box cox|"
    "holt winters|kalman filter|shapley value|bayes theorem|poisson process|monte carlo simulation".split("|")
)
_PLACEHOLDER_PLACE = re.compile(r"(?i)\b(?:anytown|anystreet|any\s+street|anycity|musterstadt|musterstra(?:ß|ss)e|musterhausen|springfield,?\s+usa)\b")

# Person names from NER are kept only when they look like names: two or more
# capitalised words, or one after a title. Single capitalised words in
# technical text ("Presidio", "Qdrant") are NER's usual false positives.
def _plausible_person(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    words = value.split()
    if not words or any(not w[:1].isupper() for w in words) or any(w in _NOT_NAMES for w in words):
        return False
    if words[-1].strip("'\"’”").lower() in _AFTER_NAME_STOP:
        return False  # "Canary Wharf", "Rose Garden" are places
    if any(ch.isdigit() for ch in value) or "_" in value:
        return False
    return len(words) >= 2 or re.search(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau)\.?\s*$", text[max(0, start - 8) : start]) is not None


# A phone-shaped run glued by a dash or underscore to a code of capitals in front ("APP-2024-000731").
_ID_PREFIX = re.compile(r"(?<![\w+])(?!(?:TEL|PHONE|MOB|MOBILE|FAX|CELL|WA|SMS)[-_])[A-Z][A-Z0-9]{1,9}[-_]\+?\(?\d?(?=\d)")


# Unspecified, broadcast, private, loopback and link-local networks: hosts of our own infrastructure or bind
# addresses ("0.0.0.0:8080"), not a customer's address. The documentation ranges (RFC 5737, RFC 3849) stay
# personal data: examples and test sets write customers' addresses in them.
_INTERNAL_NETWORKS = ("0.0.0.0/8", "::/128", "255.255.255.255/32", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10")


def _internal_ip(value: str) -> bool:
    """An address (or a network written with its prefix, "10.0.0.0/8") inside one of ``_INTERNAL_NETWORKS``."""
    import ipaddress

    try:
        ip = ipaddress.ip_network(value.strip("[]"), strict=False).network_address
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in _INTERNAL_NETWORKS if ipaddress.ip_network(net).version == ip.version)


# An address with a port or a prefix ("192.0.2.45:8443", "198.51.100.0/24"), or next to words of our own
# infrastructure ("endpoint", "subnet", "DB pod") and none of a person's ("customer", "logged in from"), is a host.
_INFRA_WORDS = re.compile(r"(?i)\b(?:server|endpoint|host|gateway|subnet|pod|node|cluster|database|db|proxy|load\s+balancer|vpc|allow-?list(?:ed)?|"
                          r"white-?list(?:ed)?|firewall|staging|test|internal|bind|listen|dns|nat|egress|ingress|port|cidr|range|vip|replica|broker)\b")
_PERSON_IP_WORDS = re.compile(r"(?i)\b(?:customer|client|user|applicant|borrower|login|logged|log\s+in|signed|sign-in|session|his|her|their|home|"
                              r"came\s+from|connecting\s+from|fraud|device|account)\b")


def _infrastructure_ip(text: str, start: int, end: int) -> bool:
    if re.match(r":\d{2,5}\b|/\d{1,3}\b", text[end : end + 6]):
        return True
    around = text[max(0, start - 50) : end + 30]
    return bool(_INFRA_WORDS.search(around)) and not _PERSON_IP_WORDS.search(around)


_VERSION_BEFORE = re.compile(r"\b(?:version|ver|v|release|build|rev)\.?\s*$", re.IGNORECASE)


def redact_pii(text: str, analyzer: Any = None) -> Redaction:
    """Replaces personal data in ``text`` by ``[KIND]`` placeholders.

    Findings are collected on the original text, overlaps resolved by kind
    priority (email, IBAN, card, national id, passport, date of birth, phone,
    address, person), then replaced in one pass.

    Args:
        text: Any text (a question, an answer, a document chunk).
        analyzer: A Presidio analyzer from ``build_analyzer`` (with or without
            spaCy); ``None`` uses the process-wide pattern-only analyzer.

    Returns:
        The redacted text and the count of values per kind found.
    """
    if not text:
        return Redaction(text=text, found={})
    engine = analyzer if analyzer is not None else default_analyzer()
    english = looks_english(text)
    findings: list[Finding] = []
    for r in engine.analyze(text=text, language="en", score_threshold=MIN_SCORE):
        kind = ENTITY_KINDS.get(r.entity_type)
        if kind is None:
            continue
        if kind == "person" and r.recognition_metadata and "Spacy" in str(r.recognition_metadata.get("recognizer_name", "")):
            if not english or not _plausible_person(text, r.start, r.end):
                continue
        if kind == "ip_address" and (_VERSION_BEFORE.search(text[max(0, r.start - 12) : r.start]) or _internal_ip(text[r.start : r.end])
                                     or _infrastructure_ip(text, r.start, r.end)):
            continue  # "version 1.2.3.4" is a release; "node 10.42.17.203" is our own infrastructure, not a person's
        if kind == "phone" and _ID_PREFIX.search(text, max(0, r.start - 12), r.start + 1):
            continue  # the digits of an identifier such as "APP-2024-000731" or "INC-2024-0042"
        if kind == "phone" and len(set(_digits(text[r.start : r.end])[-8:])) == 1:
            continue  # a placeholder: the last eight digits one digit repeated ("+44 0000 000000")
        findings.append((r.start, r.end, kind, r.score))
    # Presidio drops a pattern name that lies inside a wider NER span ("Ich heiße Anna
    # Schmidt"); when that span is then rejected above, the name must still count.
    findings.extend(_find_names(text))
    for recognizer in getattr(getattr(engine, "registry", None), "recognizers", ()):
        if getattr(recognizer, "name", "") == "tandem_find_gazetteer_names":
            findings.extend(recognizer._finder(text))
    findings = [f for f in findings if not (
        (f[2] == "person" and text[f[0] : f[1]].lower().strip("'\"’”") in _NOT_PEOPLE)
        or (f[2] == "address" and _PLACEHOLDER_PLACE.search(text, f[0], min(len(text), f[1] + 30))))]
    findings = resolve(findings, text)
    # Echoes lie outside every resolved finding and apart from each other: merged, not resolved again.
    return apply_redactions(text, sorted(findings + name_echoes(text, findings)))


_DETERMINER_BEFORE = re.compile(r"\b(?:the|a|an|this|that|our|their)\s+$", re.IGNORECASE)


def name_echoes(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """The words of a person's name found once, where they stand alone elsewhere in ``text``.

    "Mr. Hunter King disputes the arrears; King says he paid", "'Chip' Matthews, real name Charles
    Matthews": a name found with its cue is the same name without it. Only names of two words or
    more lend their words, each written as found (case-sensitive) and three letters or longer.
    """
    words: set[str] = set()
    for start, end, kind, _score in findings:
        if kind != "person":
            continue
        parts = _WORD.findall(text[start:end])
        if len(parts) >= 2:
            words.update(p for p in parts if len(p) >= 3 and p[:1].isupper() and p not in _NOT_NAMES
                         and p.lower() not in _AFTER_NAME_STOP and p.lower() not in _EN_FUNCTION and p.lower() not in _PARTICLES)
    if not words:
        return []
    taken = [(f[0], f[1]) for f in findings]
    out: list[Finding] = []
    for m in re.finditer(r"(?<![\w'’-])(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?![\w-])", text):
        if _DETERMINER_BEFORE.search(text, max(0, m.start() - 6), m.start()):
            continue  # "the King of Spain" is no echo of "Hunter King"
        if not any(a <= m.start() < b or a < m.end() <= b for a, b in taken):
            out.append((m.start(), m.end(), "person", 0.55))
    return out
