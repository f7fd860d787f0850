"""The words on the pages history_page serves, in the languages managers read (uk, ru, en).

The reader is a manager, so the page follows the browser's `Accept-Language`; the bot's own
language is the fallback.
"""

from __future__ import annotations

from faqbot.config import Language

Labels = dict[str, str]

_LABELS: dict[Language, Labels] = {
    Language.UK: {
        "html_lang": "uk",
        "reason.no_answer": "бот не знайшов відповіді",
        "reason.asked_human": "клієнт попросив менеджера",
        "reason.clarify_failed": "уточнення не допомогло",
        "reason.takeover": "менеджер узяв чат",
        "until": "до {time}",
        "resumed.timeout": "пауза закінчилась",
        "title": "Історія розмови",
        "customer": "Клієнт",
        "bot": "Бот",
        "manager": "Менеджер",
        "channel": "Канал",
        "phone": "Телефон",
        "email": "E-mail",
        "username": "Нікнейм",
        "open_chat": "Відкрити чат",
        "paused_now": "Бот зараз на паузі для цього клієнта",
        "messages": "повідомлень",
        "earlier": "Попередні повідомлення",
        "latest": "До останніх повідомлень",
        "empty": "Повідомлень поки немає.",
        "times_in": "Час: {tz}",
        "valid_until": "Посилання дійсне до {time}",
        "kb_entry": "База знань",
        "score": "впевненість",
        "decision.clarify": "запропонував варіанти",
        "decision.escalate": "передав менеджеру",
        "decision.human": "клієнт попросив менеджера",
        "decision.smalltalk": "ввічлива відповідь",
        "event.handoff": "Передано менеджеру",
        "event.paused": "Бот на паузі",
        "event.resumed": "Бот знову відповідає",
        "event.takeover": "Менеджер узяв чат",
        "event.lead_created": "Створено лід",
        "event.disabled": "Бот вимкнений",
        "error.invalid.title": "Посилання недійсне",
        "error.invalid.body": "Посилання пошкоджене або неповне. Відкрийте його ще раз зі сповіщення.",
        "error.expired.title": "Термін дії посилання минув",
        "error.expired.body": "Посилання на історію розмови діють обмежений час. Отримайте нове: натисніть "
        "«Transcript» у сповіщенні в Telegram ще раз або виконайте `faqbot history link <bot_id> <contact_id>`.",
        "error.not_found.title": "Розмову не знайдено",
        "error.not_found.body": "Для цього посилання немає збереженої розмови: можливо, її видалено після "
        "закінчення терміну зберігання.",
        "error.bad_request.title": "Неправильне посилання на сторінку",
        "error.bad_request.body": "Відкрийте посилання зі сповіщення ще раз.",
        "error.unavailable.title": "Сторінка тимчасово недоступна",
        "error.unavailable.body": "Спробуйте ще раз за кілька хвилин.",
    },
    Language.RU: {
        "html_lang": "ru",
        "reason.no_answer": "бот не нашёл ответа",
        "reason.asked_human": "клиент попросил менеджера",
        "reason.clarify_failed": "уточнение не помогло",
        "reason.takeover": "менеджер взял чат",
        "until": "до {time}",
        "resumed.timeout": "пауза закончилась",
        "title": "История переписки",
        "customer": "Клиент",
        "bot": "Бот",
        "manager": "Менеджер",
        "channel": "Канал",
        "phone": "Телефон",
        "email": "E-mail",
        "username": "Никнейм",
        "open_chat": "Открыть чат",
        "paused_now": "Бот сейчас на паузе для этого клиента",
        "messages": "сообщений",
        "earlier": "Предыдущие сообщения",
        "latest": "К последним сообщениям",
        "empty": "Сообщений пока нет.",
        "times_in": "Время: {tz}",
        "valid_until": "Ссылка действует до {time}",
        "kb_entry": "База знаний",
        "score": "уверенность",
        "decision.clarify": "предложил варианты",
        "decision.escalate": "передал менеджеру",
        "decision.human": "клиент попросил менеджера",
        "decision.smalltalk": "вежливый ответ",
        "event.handoff": "Передано менеджеру",
        "event.paused": "Бот на паузе",
        "event.resumed": "Бот снова отвечает",
        "event.takeover": "Менеджер взял чат",
        "event.lead_created": "Создан лид",
        "event.disabled": "Бот выключен",
        "error.invalid.title": "Ссылка недействительна",
        "error.invalid.body": "Ссылка повреждена или неполная. Откройте её ещё раз из уведомления.",
        "error.expired.title": "Срок действия ссылки истёк",
        "error.expired.body": "Ссылки на историю переписки действуют ограниченное время. Получите новую: нажмите "
        "«Transcript» в уведомлении в Telegram ещё раз или выполните `faqbot history link <bot_id> <contact_id>`.",
        "error.not_found.title": "Переписка не найдена",
        "error.not_found.body": "Для этой ссылки нет сохранённой переписки: возможно, она удалена после "
        "окончания срока хранения.",
        "error.bad_request.title": "Неверная ссылка на страницу",
        "error.bad_request.body": "Откройте ссылку из уведомления ещё раз.",
        "error.unavailable.title": "Страница временно недоступна",
        "error.unavailable.body": "Попробуйте ещё раз через несколько минут.",
    },
    Language.EN: {
        "html_lang": "en",
        "reason.no_answer": "the bot found no answer",
        "reason.asked_human": "the customer asked for a manager",
        "reason.clarify_failed": "clarifying did not help",
        "reason.takeover": "a manager took over",
        "until": "until {time}",
        "resumed.timeout": "the pause ran out",
        "title": "Conversation",
        "customer": "Customer",
        "bot": "Bot",
        "manager": "Manager",
        "channel": "Channel",
        "phone": "Phone",
        "email": "E-mail",
        "username": "Username",
        "open_chat": "Open chat",
        "paused_now": "The bot is paused for this customer",
        "messages": "messages",
        "earlier": "Earlier messages",
        "latest": "Back to the latest messages",
        "empty": "No messages yet.",
        "times_in": "Times in {tz}",
        "valid_until": "Link valid until {time}",
        "kb_entry": "KB entry",
        "score": "confidence",
        "decision.clarify": "offered choices",
        "decision.escalate": "handed to a manager",
        "decision.human": "customer asked for a manager",
        "decision.smalltalk": "small talk",
        "event.handoff": "Handed to a manager",
        "event.paused": "Bot paused",
        "event.resumed": "Bot resumed",
        "event.takeover": "A manager took over the chat",
        "event.lead_created": "Lead created",
        "event.disabled": "Bot disabled",
        "error.invalid.title": "This link is not valid",
        "error.invalid.body": "The link is damaged or incomplete. Open it again from the notification.",
        "error.expired.title": "This link has expired",
        "error.expired.body": "Transcript links work for a limited time. Get a fresh one: press “Transcript” "
        "again in the Telegram notification, or run `faqbot history link <bot_id> <contact_id>`.",
        "error.not_found.title": "Conversation not found",
        "error.not_found.body": "There is no stored conversation for this link: it may have been deleted after "
        "the retention period.",
        "error.bad_request.title": "This page link is not valid",
        "error.bad_request.body": "Open the link from the notification again.",
        "error.unavailable.title": "The page is temporarily unavailable",
        "error.unavailable.body": "Try again in a few minutes.",
    },
}


def labels_for(language: Language) -> Labels:
    return _LABELS[language]


def reader_language(accept_language: str | None, fallback: Language | None = None) -> Language:
    """The first language of `Accept-Language` (by q-value) we have labels for; else `fallback`, else uk."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.split("-")[0].lower()))
    for _, _, primary in sorted(ranked):
        if primary in Language._value2member_map_:
            return Language(primary)
    return fallback or Language.UK
