"""Key words in other languages, and the English ones the key rules add to their own logic.

Each entry is written as people write it; :func:`folded_words` folds them the way keys are folded
(:func:`.normalize.fold_key`), so ``contraseña``, ``CONTRASEÑA`` and ``contrasena`` are one entry and the
comparison is script-aware (a Cyrillic ``пароль`` key matches the Cyrillic entry, a ``pаssword`` key
written with Cyrillic look-alikes folds onto the English rule).

Two kinds of entries: *substrings* (five or more letters, or non-Latin scripts whose words do not hide
inside English ones) match anywhere in the folded key; *whole words* (short ones such as ``nom``, ``dni``,
``mdp``) match only one whole word of the key, so ``nominal`` or ``random`` are not names.
"""

from __future__ import annotations

from typing import Final

from . import rules
from .normalize import fold_key

# rule -> (substrings, whole words). Languages: es, de, fr, pt, it, nl, ru, zh, ja, ko, pl, sv.
_I18N: Final[dict[str, tuple[str, str]]] = {
    rules.KEY_PASSWORD: (
        "contraseña clave_de_acceso passwort kennwort motdepasse mot_de_passe senha palavra_passe "
        "wachtwoord lösenord salasana hasło пароль 密码 密碼 口令 パスワード 暗証番号 비밀번호",
        "mdp clave pwd pw",
    ),
    rules.KEY_SECRET: ("secreto geheimnis segredo segreto секрет 秘密 机密 機密 비밀", "geheim"),
    rules.KEY_TOKEN: ("токен トークン 令牌", ""),
    rules.KEY_API_KEY: ("clave_api api_schlüssel clé_api chiave_api ключ_api", ""),
    rules.KEY_EMAIL: (
        "correo courriel adresse_mail adresse_email posta_elettronica почта 邮箱 邮件 郵件 电子邮件 メール 이메일",
        "",
    ),
    rules.KEY_USERNAME: (
        "usuario usuário benutzer utilisateur identifiant utente gebruiker пользователь логин "
        "用户 用戶 账号 帳號 ユーザー ユーザ 사용자 użytkownik anvandare",
        "login",
    ),
    rules.KEY_PERSON_NAME: (
        "nombre apellido vorname nachname familienname prénom prenom cognome sobrenome achternaam "
        "voornaam имя фамилия отчество 姓名 名字 氏名 名前 이름 imię nazwisko человек 人名",
        "nom nome naam people person persona personne pessoa persoon",
    ),
    rules.KEY_PHONE: (
        "telefono teléfono telefon téléphone telephone celular cellulare handynummer "
        "телефон мобильный 电话 電話 手机 手機 携帯 전화",
        "movil móvil handy tel portable",
    ),
    rules.KEY_ADDRESS: (
        "direccion dirección adresse endereço endereco indirizzo anschrift straße strasse адрес 地址 住所 주소",
        "calle rua via",
    ),
    rules.KEY_BIRTHDATE: (
        "nacimiento geburtsdatum geburtstag naissance nascimento nascita рождения 生日 出生 生年月日 생년월일",
        "",
    ),
    rules.KEY_GOVERNMENT_ID: (
        "codice_fiscale personalausweis ausweisnummer steuernummer steueridentifikationsnummer "
        "numero_securite_sociale паспорт снилс 身份证 身分證 マイナンバー 주민등록",
        "dni nif nie cpf curp rut инн ssn",
    ),
    rules.KEY_HOST: ("rechnername nombre_de_host 主机名 ホスト名", "host fqdn server servidor rechner nodename"),
}

#: English words that, as the *last* word of a key, name a person (``created_by``, ``reviewer``).
PERSON_LAST_WORDS: Final = frozenset(
    [
        "by",
        "author",
        "authors",
        "owner",
        "owners",
        "creator",
        "reviewer",
        "reviewers",
        "assignee",
        "assignees",
        "submitter",
        "uploader",
        "sender",
        "recipient",
        "recipients",
        "contact",
        "customer",
        "patient",
        "employee",
        "student",
        "member",
        "members",
        "person",
        "people",
        "user",
        "users",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "displayname",
        "nickname",
        "realname",
        "givenname",
        "familyname",
        "whoami",
        "login",
        "uname",
    ]
)

#: Whole words that make a key's value a version, so four dotted numbers there are not an IP address.
VERSION_WORDS: Final = frozenset(
    ["version", "versions", "ver", "vers", "build", "release", "rev", "revision", "semver"]
)


def folded_words() -> tuple[dict[str, str], dict[str, str]]:
    """``(substring -> rule, whole word -> rule)``, every entry folded like keys are."""
    substrings: dict[str, str] = {}
    whole: dict[str, str] = {}
    for rule, (subs, words) in _I18N.items():
        for entry in subs.split():
            substrings[fold_key(entry)] = rule
        for entry in words.split():
            whole[fold_key(entry)] = rule
    return substrings, whole
