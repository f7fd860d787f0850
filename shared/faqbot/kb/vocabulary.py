"""A small, general customer-service vocabulary across Russian, Ukrainian and English.

Customers and the people who write Q&A sheets use different words for the same thing: "ціна",
"цена", "стоимость", "почём", "price". Each concept below groups such words (dictionary forms;
lookup also tries the word as written), so that a message and an entry meet on the concept even
when they share no word. Concepts are what any small business's customers ask about (price,
delivery, payment, returns, schedule, booking, staff, discounts, documents...), never the content
of one particular knowledge base. Keep it that way: a concept earns its place when it would help
a shop, a clinic, a school and a salon alike. Trade jargon (treatment, homework, try-on, tailoring...)
does not belong here; where trades name the same thing differently, one neutral concept holds all the
names ("session": lesson / procedure / workout; "specialist": doctor / teacher / master / trainer).
Never add a word because one labelled message needs it: tests/integration/test_matcher_unseen.py
measures the matcher on businesses nobody tuned for.
"""

from __future__ import annotations

from functools import lru_cache

from faqbot.kb.normalize import fold_letters


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Question words and time units carry little topic, but they tell "where" from "when" from "how much".
WEAK_CONCEPTS = frozenset({"where", "when", "who", "how_much", "why", "time", "day", "week", "month", "year"})

CONCEPTS: dict[str, tuple[str, ...]] = {
    "price": _w(
        "цена ценник стоимость стоить почем прайс расценка ценовой ціна цінник вартість коштувати розцінка price "
        "prices cost costs pricing tariff тариф почому"
    ),
    "how_much": _w("сколько скока скилько скільки скіко much"),
    "free": _w("бесплатный бесплатно безплатно платный безкоштовний безкоштовно платний free"),
    "payment": _w(
        "оплата оплатить оплачивать платить заплатить расплатиться расчет платеж оплатити оплачувати платити "
        "заплатити розрахуватися розрахунок платіж пей pay payment payments"
    ),
    "prepayment": _w(
        "предоплата аванс задаток заранее наперед передоплата завдаток заздалегідь prepayment deposit advance"
    ),
    "installments": _w("рассрочка часть частина розстрочка installment installments instalment"),
    "card": _w("карта карточка картка card visa mastercard"),
    "cash": _w("наличные наличка наличный готівка кеш cash"),
    "transfer": _w("перевод переказ реквизиты реквізити transfer iban"),
    "invoice": _w("счет рахунок счет-фактура invoice bill"),
    "receipt": _w("чек квитанция квитанція receipt"),
    "money": _w("деньги средства гроші кошти money funds"),
    "discount": _w("скидка скидочка знижка знижечка промокод купон бонус discount discounts promo coupon bonus"),
    "promotion": _w("акция спецпредложение акція спецпропозиція promotion promotions offer"),
    "sale": _w("распродажа уценка розпродаж уцінка sale clearance outlet"),
    "regular_customer": _w("постоянный накопительный постійний накопичувальний loyalty regular"),
    "gift": _w("подарок подарочный подарить подарунок подарунковий подарувати gift gifts present"),
    "certificate": _w("сертификат сертифікат certificate voucher"),
    "contract": _w("договор оферта договір contract agreement"),
    "document": _w("документ документы документи document documents paperwork"),
    "legal_entity": _w("фоп флп тов ооо юрлицо юрособа юридический юридичний"),
    "vat": _w("ндс пдв vat"),
    "order": _w("заказ заказать заказывать замовлення замовити замовляти order orders"),
    "buy": _w("купить покупать покупка купівля купити купувати придбати buy purchase"),
    "sell": _w("продавать продать продаваться продавати продати продаватися sell"),
    "product": _w("товар продукт вещь продукция продукція річ product item goods"),
    "availability": _w("наличие наявність available availability stock"),
    "catalog": _w("ассортимент каталог асортимент catalog catalogue"),
    "new": _w("новый новинка новий new"),
    "collection": _w("коллекция колекція collection"),
    "reserve": _w(
        "бронь бронировать забронировать резерв зарезервировать бронювати забронювати резервувати зарезервувати "
        "reserve reservation"
    ),
    "size": _w("размер размерный розмір розмірний size sizes sizing"),
    "color": _w("цвет цветной колір кольоровий color colour"),
    "photo": _w("фото фотография фотографія photo picture"),
    "material": _w("материал матеріал material"),
    "production": _w("производство производитель виробництво виробник production manufacturer"),
    "original": _w("оригинал оригинальный подделка оригінал оригінальний підробка original fake"),
    "quality": _w("качество якість quality"),
    "defect": _w("брак дефект бракованный бракований defect defective faulty"),
    "damage": _w("повреждение повредить поврежденный пошкодження пошкодити пошкоджений damage damaged"),
    "wholesale": _w("опт оптом оптовый дропшиппинг оптовий дропшипінг wholesale dropshipping"),
    "care": _w("уход догляд care"),
    "packaging": _w("упаковка упаковать запаковать упакувати запакувати пакування packaging wrap"),
    "delivery": _w("доставка доставить доставлять доставити доставляти delivery deliver ship shipping"),
    "send": _w("отправка отправить отправлять выслать відправка відправити відправляти надіслати send"),
    "parcel": _w("посылка посилка parcel package"),
    "post_office": _w("почта отделение почтомат укрпочта пошта відділення поштомат укрпошта"),
    "courier": _w("курьер кур'єр courier"),
    "pickup": _w("самовывоз самовивіз pickup"),
    "tracking": _w("отследить отслеживать трек ттн відстежити відстежувати track tracking ttn"),
    "receive": _w("получить получать отримати отримувати receive"),
    "abroad": _w("заграница граница зарубеж кордон закордон abroad international worldwide"),
    "country": _w("страна країна country"),
    "city": _w("город місто city"),
    "return": _w("возврат вернуть возвращать повернення повернути повертати return refund"),
    "exchange": _w("обмен обменять обменивать обмін обміняти обмінювати exchange"),
    "change": _w("изменить поменять менять замена заменить змінити поміняти міняти заміна замінити change replace"),
    "cancel": _w("отменить отмена отменять скасувати скасування відмінити cancel cancellation"),
    "reschedule": _w("перенести перенос переносить перенесення переносити reschedule postpone"),
    "own": _w("свой свій own"),  # "со своими материалами / своє масло / my own": bring-your-own is asked everywhere
    "warranty": _w("гарантия гарантийный гарантія гарантійний warranty guarantee"),
    "complaint": _w("жалоба претензия скарга претензія complaint"),
    "review": _w("отзыв відгук review feedback"),
    "address": _w("адрес адреса находиться расположить знаходитися розташувати address location located"),
    "where": _w("где куда де куди where"),
    "when": _w("когда коли when"),
    "who": _w("кто хто who"),
    "why": _w("почему зачем чому навіщо why"),
    "store": _w("магазин шоурум бутик крамниця shop store showroom boutique"),
    "premises": _w("офис филиал клиника салон студия офіс філія клініка студія office branch clinic salon studio"),
    "parking": _w("парковка паркинг припарковаться паркування припаркуватися parking"),
    "car": _w("машина автомобиль авто автомобіль car"),
    "schedule": _w("график расписание режим графік розклад schedule timetable"),
    # A business that "opens" works then; the transitive "открыть счёт / відкрити рахунок" is left out.
    "work": _w(
        "работать работа працювати робота work open открытый открываться відкритий відкриватися відчинений відчинятися"
    ),
    "holiday": _w("праздник праздничный свято святковий holiday holidays"),
    "weekend": _w("выходной вихідний weekend"),
    "weekday": _w("будний будень робочий weekday"),
    "monday": _w("понедельник понеділок monday"),
    "tuesday": _w("вторник вівторок tuesday"),
    "wednesday": _w("среда середа wednesday"),
    "thursday": _w("четверг четвер thursday"),
    "friday": _w("пятница пятниця п'ятниця friday"),
    "saturday": _w("суббота субота saturday"),
    "sunday": _w("воскресенье неділя sunday"),
    "today": _w("сегодня сьогодні today"),
    "tomorrow": _w("завтра tomorrow"),
    "night": _w("ночь ночью ніч вночі уночі night"),
    "morning": _w("утро утром ранок вранці зранку morning"),
    "evening": _w("вечер вечером вечір ввечері evening"),
    "time": _w("время час time"),
    "hour": _w("часы година hour hours"),
    "minute": _w("минута хвилина minute minutes"),
    "day": _w("день сутки доба day days"),
    "week": _w("неделя тиждень week weeks"),
    "month": _w("месяц місяць month months"),
    "year": _w("год лет рік year years"),
    "duration": _w("длиться длительность продолжительность тривати тривалість duration"),
    "term": _w("срок строк термін deadline"),
    "wait": _w("ждать ожидание очередь чекати очікування черга wait queue"),
    "fast": _w(
        "быстро быстрый скорость срочно срочный швидко швидкий швидкість терміново терміновий fast quick urgent"
    ),
    "emergency": _w("экстренный неотложный екстрений невідкладний emergency"),
    "booking": _w(
        "записаться записать записываться записывать записатися записати записуватися записувати book booking "
        "appointment enroll"
    ),
    "consultation": _w("консультация консультировать консультація консультувати consultation"),
    # One visit of a service, whatever the trade calls it: a lesson, a session, a procedure, a workout.
    "session": _w(
        "урок занятие заниматься сеанс процедура тренировка заняття займатися тренування lesson lessons class "
        "classes session workout"
    ),
    "course": _w("курс course courses"),
    "program": _w("программа програма program programme"),
    "group": _w("группа група group"),
    "individual": _w("индивидуальный персональный індивідуальний персональний individual personal private"),
    "trial": _w("пробный тестовый пробний тестовий trial demo"),
    "subscription": _w("абонемент подписка пакет підписка subscription membership"),
    "freeze": _w("заморозить заморозка пауза заморозити freeze pause"),
    "miss": _w("пропустить пропуск пропускать пропустити пропускати miss skip"),
    "expire": _w("сгорать сгореть истекать згорати згоріти спливати expire expired"),
    "record": _w("видео видеозапись відео відеозапис video recording"),
    "online": _w("онлайн дистанционный дистанционно дистанційний дистанційно online remote remotely"),
    "offline": _w("офлайн оффлайн очно наживо offline"),
    "internet": _w("интернет інтернет internet wifi вайфай"),
    "power": _w("свет электричество электроэнергия світло електрика електроенергія power electricity"),
    "outage": _w("отключение отключить выключить відключення відключити вимкнути outage blackout"),
    "generator": _w("генератор generator"),
    "air_raid": _w("тревога сирена тривога alarm siren"),
    "shelter": _w("укрытие убежище бомбоубежище укриття сховище бомбосховище shelter"),
    "staff": _w("менеджер администратор админ оператор консультант адміністратор адмін manager admin operator"),
    # Whoever provides the service, by any trade's title: "ваши врачи", "преподаватели", "майстри", "trainer".
    "specialist": _w(
        "специалист мастер эксперт врач доктор преподаватель учитель педагог репетитор препод тренер стилист "
        "спеціаліст майстер експерт лікар викладач вчитель stylist specialist master expert doctor teacher tutor "
        "instructor trainer coach"
    ),
    "experience": _w("опыт стаж квалификация досвід кваліфікація experience qualification qualified"),
    "child": _w(
        "ребенок ребёнок дети детский малыш сын дочь дочка школьник дитина діти дитячий малюк син донька донечка "
        "школяр child children kid kids son daughter"
    ),
    "person": _w("человек люди людина person people"),
    "adult": _w("взрослый дорослий adult"),
    "age": _w("возраст вік age old"),
    "family": _w("семья семейный сім'я сімейний family"),
    "friend": _w("друг подруга friend"),
    "military": _w("военный военнослужащий всу зсу ветеран військовий військовослужбовець military veteran army"),
    "pensioner": _w("пенсионер пенсіонер pensioner senior retired"),
    "student": _w("студент student"),
    "displaced": _w("переселенец впо переселенець displaced refugee"),
    "company": _w(
        "компания корпоративный организация сотрудник компанія корпоративний організація співробітник працівник "
        "company corporate employees"
    ),
    "business": _w("бизнес бізнес business"),
    "vacancy": _w("вакансия резюме вакансія vacancy vacancies job hiring"),
    "cooperation": _w("сотрудничество партнерство бартер співпраця cooperation partnership barter"),
    "pet": _w("собака пес кот кошка животное кіт тварина dog cat pet"),
    "birthday": _w("рождение народження birthday"),
    "wedding": _w("свадьба весілля wedding"),
    "phone": _w("телефон смартфон айфон андроид phone smartphone iphone android mobile"),
    "computer": _w("ноутбук компьютер планшет комп'ютер laptop computer tablet pc"),
    "app": _w("приложение застосунок додаток app application"),
    "site": _w("сайт вебсайт site website web"),
    "instagram": _w("инстаграм инста інстаграм instagram insta"),
    "telegram": _w("телеграм телеграмм тг telegram tg"),
    "viber": _w("вайбер viber"),
    "direct": _w("директ дірект direct"),
    "email": _w("имейл емейл мейл email mail"),
    "call": _w("звонить позвонить перезвонить звонок дзвонити подзвонити зателефонувати дзвінок call"),
    "message": _w("написать писать сообщение написати писати повідомлення write message"),
    "reply": _w("ответить отвечать ответ відповісти відповідати відповідь reply respond answer"),
    "contact": _w("связь связаться контакт зв'язок зв'язатися contact"),
    "account": _w("аккаунт кабинет профиль акаунт кабінет профіль account profile"),
    "newsletter": _w("рассылка розсилка newsletter mailing"),
    "subscribe": _w("подписаться подписчик підписатися підписник subscribe subscriber follower"),
    "bank_mono": _w("монобанк моно monobank mono"),
    "bank_privat": _w("приватбанк приват privatbank privat"),
    "apple": _w("эпл эппл епл apple"),
    "google": _w("гугл google"),
    "language_english": _w("английский англійська англійський english"),
    "language_ukrainian": _w("украинский українська український ukrainian"),
    "language_russian": _w("русский російська російський russian"),
    # Not "робот": Ukrainian "роботи" / "роботу" are forms of both "робот" and "робота" (work), and the
    # dictionary cannot tell them apart; "графік роботи" is far likelier than robots.
    "bot": _w("бот bot"),
}


# Two-word expressions whose meaning is not that of their words ("во сколько" asks for a time of day,
# not a price). Matched on the words as written, before single words, also with a function word inside
# ("сколько по времени").
PHRASES: dict[str, tuple[str, ...]] = {
    "hours": (
        "во сколько",
        "до скольки",
        "со скольки",
        "до которого",
        "о котрій",
        "до котрої",
        "з котрої",
        "what time",
    ),
    "duration": ("сколько времени", "скільки часу", "как долго", "як довго", "how long"),
    "individual": ("один на один", "one on one", "сам на сам"),
    "payment": ("apple pay", "google pay", "эпл пей", "гугл пей", "епл пей"),
    "post_office": ("новая почта", "нова пошта", "nova poshta", "nova poshta"),
}


@lru_cache(maxsize=1)
def phrase_table() -> dict[tuple[str, ...], str]:
    """Folded word tuple → concept, for `PHRASES`."""
    return {
        tuple(fold_letters(word) for word in phrase.split()): concept
        for concept, phrases in PHRASES.items()
        for phrase in phrases
    }


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    """Folded word → concept, for every word and (lazily, once) every dictionary form of it."""
    from faqbot.kb.morphology import analyse

    table: dict[str, str] = {}
    for concept, words in CONCEPTS.items():
        for word in words:
            table.setdefault(fold_letters(word), concept)
    for concept, words in CONCEPTS.items():
        for word in words:
            if word.isascii():
                continue
            info = analyse(word, "uk" if set(word) & set("іїєґ'") else "ru")
            if info.known:
                table.setdefault(fold_letters(info.lemma), concept)
    return table


def concept_of(*forms: str) -> str | None:
    """The concept of a word given its forms (as written, dictionary forms), or None."""
    table = _lookup()
    for form in forms:
        concept = table.get(fold_letters(form))
        if concept is not None:
            return concept
    return None
