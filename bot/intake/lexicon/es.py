"""Spanish: usted and tú forms, Mexican, Central American and Caribbean words, texting shorthand."""

from __future__ import annotations

from bot.intake.lexicon import Keyword, Lexicon, People, numbers, option_table, words
from bot.intake.model import Language

SPANISH = Lexicon(
    language=Language.ES,
    keywords={
        # Single-word opt-outs people use in Spanish, on top of Twilio's English ones.
        **dict.fromkeys(("alto", "parar", "basta", "cancelar"), Keyword.STOP),
        "ayuda": Keyword.HELP,
        "estado": Keyword.STATUS,
        "borrar": Keyword.DELETE,
        "reiniciar": Keyword.RESTART,
        **dict.fromkeys(("omitir", "saltar"), Keyword.SKIP),
        "ingles": Keyword.ENGLISH,
        **dict.fromkeys(("espanol", "castellano"), Keyword.SPANISH),
        "salir": Keyword.EXIT,
    },
    yes=words(
        "si|sí|sip|sii|siii|simon|claro|claro que si|por supuesto|asi es|eso|exacto|"
        "correcto|de acuerdo|va|sale|dale|ok|okey|oki|bueno|esta bien|afirmativo|"
        "si por favor|si gracias|ajá|aja|ya"
    ),
    no=words("no|nop|nel|nada|para nada|negativo|no no|nones|no creo|claro que no|no mucho"),
    negators=words("no|nunca|jamas|ni|sin|tampoco|nada|nadie"),
    boundaries=words("pero|solo|solamente|nomas|sino|mejor|aunque|excepto|mas bien"),
    hedges=words(
        "tal vez|talvez|quizas|quiza|a lo mejor|alomejor|creo|creo que|supongo|"
        "mas o menos|masomenos|no se|nose|no estoy segura|no estoy seguro|puede ser|"
        "probablemente|igual|capaz|segun yo|depende|si acaso|ojala|a veces|ambos|"
        "ambas|las dos|los dos|cualquiera"
    ),
    fillers=words(
        "por favor|porfa|porfavor|xfa|plis|pls|opcion|opciones|numero|el|la|los|las|"
        "un|una|es|gracias|muchas gracias|elijo|escojo|quiero|necesito|respuesta|"
        "hola|buenas|eh|este|pues|mmm|si se puede|si pueden|si es posible|jaja"
    ),
    function_words=words(
        "me|te|le|les|lo|la|los|las|nos|se|a|que|el|un|una|de|del|por|para|mi|mis|"
        "usted|ustedes|favor|quiero|necesito|ningun|ninguna|algun|alguien|en"
    ),
    connectors=words("y|e|o|u|mas|tambien|tmb|tb|ademas|luego|&|+"),
    numbers={
        **numbers(
            [
                "uno",
                "dos",
                "tres",
                "cuatro",
                "cinco",
                "seis",
                "siete",
                "ocho",
                "nueve",
                "diez",
                "once",
                "doce",
                "trece",
                "catorce",
                "quince",
                "dieciseis",
                "diecisiete",
                "dieciocho",
                "diecinueve",
                "veinte",
            ]
        ),
    },
    options={
        "language": option_table(
            ("en", "ingles|=ingl"),
            ("es", "espanol|castellano|=es|=esp|espanish|espanhol|espaniol|en espanol"),
        ),
        "safe_now": option_table(
            (
                "yes",
                "estoy bien|bien|a salvo|estoy a salvo|me siento segura|me siento seguro|"
                "segura|seguro|en un lugar seguro|tranquila|tranquilo|con mi|con mis|"
                "estoy con|en casa de|ya sali|ya me fui|lejos de el",
            ),
            (
                "no",
                "no estoy bien|no estoy a salvo|en peligro|peligro|corro peligro|"
                "me estoy escondiendo|escondida|escondido|esta aqui|estan aqui|"
                "esta afuera|estan afuera|afuera|afuera de mi casa|en la puerta|"
                "me siguen|me esta siguiendo|me encontro|me encontraron|me buscan|"
                "saben donde vivo|sabe donde vivo|ayudenme|auxilio|socorro",
            ),
        ),
        "role": option_table(
            (
                "witness",
                "testigo|yo vi|vi todo|vi lo que|vi cuando|lo vi|vi como|presencie|"
                "estaba ahi|estuve ahi|lo presencie|testiga",
            ),
            (
                "victim",
                "victima|la victima soy yo|me paso a mi|me dispararon|me balearon|"
                "me atacaron|me golpearon|me amenazaron|me hirieron|me apunalaron|"
                "me lastimaron|sobreviviente",
            ),
            (
                "family",
                "familia|familiar|pariente|mama de|mama del|madre de|madre del|papa de|"
                "papa del|padre de|padre del|hermana de|hermano de|hermana del|"
                "hermano del|tia de|tio de|abuela de|esposa de|esposo de|mi hijo|"
                "mi hija|mi hermano|mi hermana|mi esposo|mi esposa|mi mama|mi papa|"
                "mi sobrino|mi sobrina|mi primo|mi prima|mi nieto|mi nieta|"
                "de la victima|soy su mama|soy su madre|soy su papa|soy su hermana|"
                "soy su hermano|soy su esposa|soy su tia|soy su abuela",
            ),
            (
                "other",
                "=otro|=otra|otro soy|otra cosa|ninguno|ninguna|maestra|maestro|pastor|padre de la "
                "iglesia|cura|trabajadora social|jefe|jefa|companero de trabajo|casero",
            ),
        ),
        "needs": option_table(
            (
                "move",
                "mudarme|mudarnos|mudar|mudanza|mudarse|mudo|moverme|movernos|irme|irnos|"
                "salir de aqui|salirme|salirnos|salir de la casa|cambiarme de casa|"
                "cambiarnos de casa|otra casa|otro lugar|otro departamento|otro apartamento|"
                "reubicarme|reubicacion|reubicar|escaparme|huir|dejar la casa",
            ),
            (
                "move_now",
                "lugar seguro|donde quedarme|donde quedarnos|quedarme|refugio|albergue|"
                "hotel|motel|esta noche|por ahora|temporal|temporalmente|de inmediato|"
                "casa segura|donde dormir",
            ),
            (
                "move_permanent",
                "para siempre|de forma permanente|permanente|permanentemente|"
                "definitivamente|definitivo|otra ciudad|empezar de nuevo en otro lado",
            ),
            (
                "locks",
                "cerradura|cerraduras|chapa|chapas|cerrajero|candado|candados|puerta|"
                "puertas|camara|camaras|alarma|seguridad|proteger mi casa|proteger la casa|"
                "asegurar mi casa|asegurar la casa|rejas|cerco|luces",
            ),
            (
                "moving_costs",
                "dinero|pagar|pago|renta|alquiler|deposito|camion|troca|plata|lana|"
                "costos|gastos|los gastos|no tengo dinero|no tengo para|no me alcanza|"
                "pagar la mudanza|ayuda para pagar|ayuda con los gastos|no tengo con que|"
                "no tengo como pagar",
            ),
            (
                "talk",
                "hablar|hablar con alguien|platicar|alguien con quien hablar|consejero|"
                "consejera|psicologo|psicologa|terapia|terapeuta|apoyo emocional|"
                "desahogarme|estoy muy mal|estoy mal|no puedo dormir|pesadillas|"
                "ansiedad|depresion|me siento mal|escucharme",
            ),
            (
                "other",
                "otra cosa|=otro|=otra|algo mas|abogado|abogada|legal|corte|tribunal|trabajo|"
                "empleo|escuela|comida|inmigracion|papeles|medico|doctor|transporte",
            ),
        ),
        "move_where": option_table(
            (
                "in_state",
                "dentro del estado|en el estado|mismo estado|este estado|aqui en el estado|"
                "en la ciudad|misma ciudad|cerca|aqui cerca|otro barrio|otra colonia|"
                "otro vecindario|por aqui|en el mismo estado",
            ),
            (
                "out_of_state",
                "fuera del estado|afuera del estado|otro estado|a otro estado|salir del estado|"
                "fuera de este estado|en otro estado|otro pais",
            ),
            (
                "not_sure",
                "no se|nose|no estoy segura|no estoy seguro|ni idea|no importa|donde sea|"
                "cualquier lugar|me da igual|da igual|no tengo idea|no sabria",
            ),
        ),
        "how_soon": option_table(
            (
                "today",
                "hoy|=ya|ya mismo|ahora|ahorita|ahora mismo|cuanto antes|lo antes posible|"
                "lo mas pronto posible|urgente|urge|de inmediato|inmediatamente|"
                "esta noche|hoy mismo|emergencia|ayer",
            ),
            (
                "this_week",
                "esta semana|manana|pasado manana|en unos dias|en estos dias|"
                "unos dias|este fin de semana|fin de semana|para el viernes|"
                "antes del viernes|en dos dias|en tres dias|esta misma semana",
            ),
            (
                "later",
                "mas adelante|despues|luego|mas tarde|el mes que viene|el proximo mes|"
                "proximo mes|la proxima semana|la semana que viene|no hay prisa|"
                "no hay apuro|sin prisa|sin apuro|no es urgente|cuando se pueda|"
                "cuando puedan|no corre prisa|algun dia",
            ),
        ),
        "fast_contact": option_table(
            ("text_here", "si escribanme|escribanme|aqui|por aqui|mensajes|mensaje|texto"),
            (
                "only_when_i_text_first",
                "esperen|esperen a que yo escriba|yo les escribo|no me escriban|no escriban|"
                "revisa mi telefono",
            ),
        ),
        "more": option_table(
            ("now", "ahora|contestar ahora|si|claro|dale|va|sale"),
            ("later", "ahora no|despues|luego|mas tarde|no puedo|no"),
        ),
        "contact": option_table(
            (
                "text_here",
                "mensaje|mensajes|por mensaje|texto|textos|por texto|escribirme|"
                "escribanme|escribeme|escribame|me escriben|me pueden escribir|aqui|"
                "por aqui|por este medio|por chat|sms|whats|mensajito|mensajitos",
            ),
            (
                "call",
                "llamar|llamada|llamadas|llamame|llameme|llamenme|llamen|me llamen|"
                "me pueden llamar|me puede llamar|marcar|marcame|marqueme|marquenme|"
                "me marcan|me marquen|hablar por telefono|por telefono|llamarme|llamen me",
            ),
            (
                "only_when_i_text_first",
                "yo les escribo|yo le escribo|yo escribo|yo los contacto|yo me comunico|"
                "yo les aviso|cuando yo escriba|cuando yo les escriba|cuando les escriba|"
                "esperen a que|espere a que|esperen mi mensaje|solo cuando yo|yo primero|"
                "revisa mi telefono|revisa mi celular|me revisa el telefono|"
                "me revisa el celular|ve mis mensajes|lee mis mensajes",
            ),
        ),
        "confirm": option_table(
            (
                "send",
                "enviar|envialo|envienlo|enviarlo|mandar|mandalo|mandenlo|mandarlo|"
                "esta bien|todo bien|todo esta bien|correcto|perfecto|listo",
            ),
            (
                "start_over",
                "empezar de nuevo|de nuevo|otra vez|empezar otra vez|volver a empezar|"
                "desde el principio|comenzar de nuevo",
            ),
        ),
    },
    people=People(
        self_words=words("yo|conmigo|me incluyo|incluyendome|contandome"),
        one=words(
            "mama|madre|mami|papa|padre|papi|esposo|esposa|marido|pareja|novio|novia|"
            "hijo|hija|bebe|nene|nena|hermano|hermana|abuela|abuelo|abuelita|abuelito|"
            "tia|tio|primo|prima|sobrino|sobrina|amigo|amiga|suegra|suegro|nieto|nieta|"
            "hijastro|hijastra|padrastro|madrastra|cunado|cunada|nuera|yerno|compadre|comadre"
        ),
        two=words("papas|padres|mis papas|mis padres|gemelos|gemelas|abuelos|mis abuelos"),
        group=words(
            "hijos|hijas|ninos|ninas|nenes|nenas|bebes|hermanos|hermanas|primos|primas|"
            "sobrinos|sobrinas|nietos|nietas|chamacos|chiquitos|criaturas|muchachos|"
            "personas|adultos|otros|otras|mas|amigos|amigas|de ellos|de ellas"
        ),
        total_before=words("somos|seriamos|son en total|en total somos|familia de|un total de"),
        total_after=words(
            "personas|en total|en todo|contando conmigo|conmigo|incluyendome|contandome|"
            "con todo|de nosotros|personas en total|incluyendome a mi"
        ),
        excluding=words("sin contarme|sin contar conmigo|mas yo|y yo|sin incluirme|ademas de mi"),
        with_words=words("con"),
        alone=words("solo yo|yo solo|yo sola|sola|solito|solita|nada mas yo|nomas yo|=yo"),
        vague=words(
            "o|tal vez|quizas|depende|si|creo|como|unos|unas|varios|varias|algunos|"
            "algunas|mas o menos|aproximadamente|como unos"
        ),
    ),
    declines=words(
        "omitir|saltar|paso|no gracias|prefiero no|prefiero no decir|prefiero no decirlo|"
        "no quiero|no quiero decir|nada|ninguno|ninguna|no se|nose|no|n|siguiente|"
        "despues|no por ahora|sin comentarios"
    ),
    change_words=words(
        "cambiar|cambio|corregir|corrijo|arreglar|editar|modificar|esta mal|mal|"
        "incorrecto|equivocado|error|me equivoque|dije|quise decir"
    ),
    step_names={
        "safe_now": words("a salvo|seguridad|seguro|segura"),
        "role": words("quien soy|usted es|testigo|victima"),
        "needs": words("ayuda|lo que necesito|necesidades"),
        "move_where": words("mudanza|a donde|donde|estado"),
        "household": words("personas|numero de personas|cuantas|cuantos|cuantas personas"),
        "how_soon": words("cuando|lo de cuando|fecha|dia"),
        "contact": words("contacto|como contactarme|llamar|mensaje"),
        "safe_times": words("horario|horas|cuando es seguro|horarios"),
        "story": words("lo que paso|que paso|historia"),
        "code_word": words("palabra clave|clave|contrasena|palabra"),
    },
    markers=words(
        "hola|buenas|buenos|buen|dia|dias|tardes|noches|ayuda|ayudame|ayudeme|ayudenme|"
        "auxilio|socorro|necesito|necesitamos|necesita|favor|porfa|gracias|quiero|"
        "queremos|tengo|tenemos|estoy|estamos|soy|somos|miedo|peligro|testigo|victima|"
        "familia|donde|como|que|quien|usted|ustedes|mi|mis|yo|nosotros|hablo|habla|"
        "espanol|castellano|senor|senora|mudarme|casa|amenaza|amenazas|vivo|hijo|hija|"
        "hijos|puede|pueden|informacion|estado|borrar|reiniciar|si|pero|tambien|hermano|"
        "hermana|dieron|este|numero|en|la|el|los|las|lo|paso|vi|ahora|buscan|me|q|"
        "xfa|fiscalia|crimen|de|un|una|por|para|con|tiene|pistola"
    ),
    common=words(
        "que|quien|cuando|donde|como|porque|pero|para|por|con|sin|sobre|entre|hasta|"
        "desde|este|esta|estos|estas|ese|esa|esos|esas|aquel|todo|toda|todos|todas|"
        "mucho|mucha|muchos|poco|poca|otro|otra|mismo|misma|tambien|siempre|nunca|"
        "ahora|antes|despues|luego|bien|mal|mejor|peor|casa|calle|carro|coche|trabajo|"
        "escuela|noche|tarde|manana|semana|mes|anos|hijo|hija|hijos|hijas|mama|papa|"
        "miedo|peligro|policia|pistola|arma|armas|balas|disparo|disparos|amenaza|"
        "amenazas|telefono|celular|numero|mensaje|mensajes|llamada|llamo|llama|llaman|"
        "llame|llamo|dice|dijo|dicen|dijeron|paso|pasa|pasado|vive|vivo|vivimos|"
        "viven|sabe|saben|quiere|quieren|puedo|puede|pueden|tengo|tiene|tienen|estoy|"
        "esta|estan|estamos|somos|son|fue|fueron|era|eran|hacer|hago|hace|hizo|"
        "cuenta|cuentas|mudo|muda|mueve|mueva|mover|moverse|lugar|lugares|tiempo|"
        "gente|persona|personas|familia|familias|amigo|amiga|vecino|vecina|vecinos|"
        "llegar|llego|salir|salio|entrar|entro|puerta|ventana|cuarto|bano|tienda|"
        "seguro|segura|seguros|seguras|ayuda|ayudar|gracias|favor|quiero|queria|"
        "necesito|necesita|solo|sola|nada|nadie|alguien|algo|cosa|cosas|ellos|ellas|"
        "nosotros|ustedes|usted|suyo|suya|nuestro|nuestra|carta|cartas|marca|marco"
    ),
    emoji={},
)
